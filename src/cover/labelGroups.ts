/**
 * Label groups ("all live coral", "all algae"): a mapping of label code to group name, from a CSV
 * (`Label code,Group`, or any two columns) or a JSON object `{ "CORAL": "Live coral", … }`.
 */
import { readFile } from 'node:fs/promises';
import { parseString } from 'fast-csv';

export type LabelGroups = ReadonlyMap<string, string>;

export async function readLabelGroups(file: string): Promise<LabelGroups> {
  const text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  if (file.toLowerCase().endsWith('.json') || text.trimStart().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new Error(`${file} is not valid JSON (${(error as Error).message}): write { "CORAL": "Live coral", "MA": "Algae" }.`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === 'string')) {
      throw new Error(`${file}: write an object of label code to group name, such as { "CORAL": "Live coral", "MA": "Algae" }.`);
    }
    return new Map(Object.entries(parsed as Record<string, string>));
  }
  const groups = new Map<string, string>();
  const rows = parseString(text, { ignoreEmpty: true, trim: true });
  let line = 0;
  for await (const row of rows as AsyncIterable<string[]>) {
    line++;
    const [code, group, ...rest] = row;
    // A header: `code,group`, `Label code,Group`, `label,group name`…
    if (line === 1 && /^(label|code|label code|short code)$/i.test(code ?? '') && /^group( name)?$/i.test(group ?? '')) continue;
    if (!code || !group || rest.some((cell) => cell !== '')) throw new Error(`${file}, line ${line}: write one label code and its group, such as CORAL,Live coral (quote a group name that holds a comma).`);
    groups.set(code, group);
  }
  return groups;
}
