/**
 * Label groups ("all live coral", "all algae"): a mapping of label code to group name, from a CSV
 * (`Label code,Group`, or any two columns) or a JSON object `{ "CORAL": "Live coral", … }`.
 */
import { readFile } from 'node:fs/promises';

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
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  lines.forEach((line, i) => {
    const [code, group, ...rest] = line.split(',').map((cell) => cell.trim().replace(/^"|"$/g, ''));
    if (i === 0 && /label/i.test(code ?? '') && /group/i.test(group ?? '')) return; // header
    if (!code || !group || rest.length > 0) throw new Error(`${file}, line ${i + 1}: write one label code and its group, such as CORAL,Live coral.`);
    groups.set(code, group);
  });
  return groups;
}
