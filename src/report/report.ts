/**
 * A self-contained HTML report of a run (no network needed to open it): summary, cover per group
 * (over time, or by site), a map-like scatter of the photos by GPS, the label distribution, and a
 * gallery of sample photos with their points drawn. Charts are SVG drawn here, not in the browser.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { lastValueFrom, toArray } from 'rxjs';
import { readAnnotatedImages } from '../cover/coverFile.js';
import type { LabelGroups } from '../cover/labelGroups.js';
import { exifSeconds, percentCover, type CoverRow } from '../cover/percentCover.js';
import { pull } from '../flow/credits.js';
import { reasonKind } from '../flow/runSurvey.js';
import { agreementPaths, type Agreement } from '../review/compare.js';
import { reviewSection } from './agreementCharts.js';
import { drawPoints } from './overlay.js';
import { escapeXml, labelColours } from './palette.js';

export interface ReportOptions {
  /** A run's NDJSON. */
  input: string;
  /** The folder the report is written to (`index.html`). */
  out: string;
  /** Where the photos are, for the gallery (by their names in the NDJSON). Default: their URLs. */
  images?: string;
  /** The run's errors file. Default: next to the NDJSON (`results.errors.ndjson`). */
  errors?: string;
  /** The run's summary (`results.run.json`, written by `reefstream run`). Default: next to the NDJSON. */
  run?: string;
  /** Photos in the gallery. Default 12. */
  samples?: number;
  /** Label groups ("Live coral", "Algae"): the cover chart shows them instead of label codes. */
  groups?: LabelGroups;
  /** The `--out` of `reefstream review compare` (its prefix or JSON): adds the confidence curve and the confusion matrix. */
  agreement?: string;
}

interface MapPoint {
  name: string;
  latitude: number;
  longitude: number;
  label: string;
  share: number;
}

interface RunSummaryFile {
  seconds?: number;
  imagesPerMinute?: number;
}

const base = (file: string): string => file.replace(/\.ndjson$/i, '');

async function exists(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isFile() ?? false;
}

async function failureReasons(file: string): Promise<Map<string, number>> {
  const reasons = new Map<string, number>();
  if (!(await exists(file))) return reasons;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    const { reason } = JSON.parse(line) as { reason?: string };
    const kind = reasonKind(reason ?? 'unknown');
    reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
  }
  return reasons;
}

/** The agreement `review compare` wrote. */
async function readAgreement(prefix: string): Promise<Agreement> {
  const file = agreementPaths(prefix).json;
  try {
    const agreement = JSON.parse(await readFile(file, 'utf8')) as Agreement;
    if (agreement.confidence === undefined) throw new Error('it has no confidence curve');
    return agreement;
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it is not there' : (error as Error).message;
    throw new Error(`${file} cannot be read (${why}): give the --out of reefstream review compare.`, { cause: error });
  }
}

const fmt = (n: number, digits = 1): string => n.toLocaleString('en', { maximumFractionDigits: digits });

/** `17.49° S` for -17.49 of latitude: the sign as the hemisphere. */
const degrees = (value: number, positive: string, negative: string): string => `${fmt(Math.abs(value), 5)}° ${value < 0 ? negative : positive}`;

/** `42 s`, `3.5 min`, `2 h 05 min`. */
function duration(seconds: number): string {
  if (seconds < 90) return `${fmt(seconds, 0)} s`;
  if (seconds < 5400) return `${fmt(seconds / 60)} min`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

function stackedBars(id: string, rows: CoverRow[], codes: string[], colours: Map<string, string>, xTitle: string, shareOf: (row: CoverRow, code: string) => number = (row, code) => row.labels[code] ?? 0): string {
  const width = 900;
  const height = 320;
  const left = 70;
  // Windows of one day are named by their time alone.
  const oneDay = rows.length > 0 && rows.every((r) => /^\d{4}-\d{2}-\d{2}[ T]/.test(r.key) && r.key.slice(0, 10) === rows[0]!.key.slice(0, 10));
  const tickText = (key: string): string => (oneDay ? key.slice(11) : key);
  const bottom = 80;
  const barWidth = Math.max(2, (width - left) / Math.max(1, rows.length));
  const bars = rows.map((row, i) => {
    let y = height - bottom;
    const x = left + i * barWidth;
    const segments = codes.map((code) => {
      const share = shareOf(row, code);
      const h = (share / 100) * (height - bottom - 10);
      y -= h;
      return h > 0 ? `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barWidth * 0.9).toFixed(1)}" height="${h.toFixed(1)}" fill="${colours.get(code)}" data-label="${escapeXml(code)}"><title>${escapeXml(row.key)}: ${escapeXml(code)} ${fmt(share)} %</title></rect>` : '';
    });
    const tick = rows.length <= 24 || i % Math.ceil(rows.length / 12) === 0 ? `<text x="${x + barWidth / 2}" y="${height - bottom + 14}" font-size="10" text-anchor="end" transform="rotate(-35 ${x + barWidth / 2} ${height - bottom + 14})">${escapeXml(tickText(row.key))}</text>` : '';
    // How many photos the bar stands for: a bar of one photo is not as sure as a bar of fifty.
    const count = rows.length <= 40 ? `<text class="count" x="${(x + barWidth * 0.45).toFixed(1)}" y="${height - bottom - (height - bottom - 10) - 2}" font-size="9" text-anchor="middle" fill="#456">${row.images}</text>` : '';
    return `<g class="bar" data-key="${escapeXml(row.key)}" data-images="${row.images}"><title>${escapeXml(row.key)}: ${row.images} ${row.images === 1 ? 'photo' : 'photos'}</title>${segments.join('')}${tick}${count}</g>`;
  });
  const titles =
    `<text x="14" y="${(height - bottom) / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${(height - bottom) / 2})">% of points (top label)</text>` +
    `<text x="${left + (width - left) / 2}" y="${height - 4}" font-size="11" text-anchor="middle">${escapeXml(xTitle)}; the number above each bar: its photos</text>`;
  const axis = [0, 25, 50, 75, 100]
    .map((p) => {
      const y = height - bottom - (p / 100) * (height - bottom - 10);
      return `<line x1="${left}" x2="${width}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${left - 4}" y="${y + 4}" font-size="10" text-anchor="end">${p}%</text>`;
    })
    .join('');
  return `<svg id="${id}" viewBox="0 0 ${width} ${height}" role="img" data-bars="${rows.length}">${axis}${titles}${bars.join('')}</svg>`;
}

function scatterMap(points: MapPoint[], colours: Map<string, string>): string {
  const width = 600;
  const height = 400;
  const pad = 20;
  const lats = points.map((p) => p.latitude);
  const lons = points.map((p) => p.longitude);
  const [minLat, maxLat, minLon, maxLon] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const spanLon = maxLon - minLon || 1e-6;
  const spanLat = maxLat - minLat || 1e-6;
  const scale = Math.min((width - 2 * pad) / spanLon, (height - 2 * pad) / spanLat);
  // Centre the survey in the box: a straight tow has (almost) no extent one way.
  const offsetX = (width - spanLon * scale) / 2;
  const offsetY = (height - spanLat * scale) / 2;
  // Smaller dots when there are many, so that neighbouring photos stay apart.
  const radius = points.length > 500 ? 2.5 : points.length > 100 ? 3.5 : 5;
  const dots = points.map((p) => {
    const x = offsetX + (p.longitude - minLon) * scale;
    const y = height - offsetY - (p.latitude - minLat) * scale;
    return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${radius}" fill="${colours.get(p.label)}" fill-opacity="${(0.35 + 0.65 * p.share).toFixed(2)}" stroke="#333" stroke-width="0.5"><title>${escapeXml(p.name)}: ${escapeXml(p.label)} ${fmt(p.share * 100)} %</title></circle>`;
  });
  // Each site (the photos' folder) named at the middle of its photos, so that sites are told apart.
  const sites = new Map<string, { x: number; y: number; n: number }>();
  for (const p of points) {
    const site = p.name.includes('/') ? p.name.slice(0, p.name.lastIndexOf('/')) : undefined;
    if (site === undefined) continue;
    const at = sites.get(site) ?? { x: 0, y: 0, n: 0 };
    at.x += offsetX + (p.longitude - minLon) * scale;
    at.y += height - offsetY - (p.latitude - minLat) * scale;
    at.n++;
    sites.set(site, at);
  }
  const siteNames =
    sites.size > 1
      ? [...sites].map(([site, { x, y, n }]) => `<text class="site" x="${(x / n).toFixed(1)}" y="${(y / n - 10).toFixed(1)}" font-size="11" font-weight="bold" text-anchor="middle" fill="#123" stroke="#eef6fb" stroke-width="3" paint-order="stroke">${escapeXml(site)}</text>`).join('')
      : '';
  // A scale bar of a round length, about a fifth of the map, in metres along the mean latitude.
  const metresPerPixel = (111_320 * Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180)) / scale;
  const target = (width / 5) * metresPerPixel;
  const magnitude = 10 ** Math.floor(Math.log10(target));
  const metres = [1, 2, 5, 10].map((m) => m * magnitude).filter((m) => m <= target).at(-1) ?? magnitude;
  const barPixels = metres / metresPerPixel;
  const barLabel = metres >= 1000 ? `${fmt(metres / 1000)} km` : `${fmt(metres, 0)} m`;
  const scaleBar = `<g id="scale-bar" data-metres="${metres}"><line x1="${width - pad - barPixels}" x2="${width - pad}" y1="${pad}" y2="${pad}" stroke="#123" stroke-width="3"/><text x="${width - pad - barPixels / 2}" y="${pad + 14}" font-size="10" text-anchor="middle">${barLabel}</text></g>`;
  // Axes: the photos' westmost and eastmost longitude under them, southmost and northmost latitude beside them.
  const [west, east] = [offsetX, offsetX + spanLon * scale];
  const [south, north] = [height - offsetY, height - offsetY - spanLat * scale];
  const axes =
    `<g id="axes" font-size="9" fill="#456"><line x1="${west.toFixed(1)}" x2="${east.toFixed(1)}" y1="${height - 16}" y2="${height - 16}" stroke="#9ab"/>` +
    `<text x="${west.toFixed(1)}" y="${height - 20}" text-anchor="start">${degrees(minLon, 'E', 'W')}</text><text x="${east.toFixed(1)}" y="${height - 20}" text-anchor="end">${degrees(maxLon, 'E', 'W')}</text>` +
    `<line x1="8" x2="8" y1="${north.toFixed(1)}" y2="${south.toFixed(1)}" stroke="#9ab"/>` +
    `<text x="12" y="${(south - 2).toFixed(1)}">${degrees(minLat, 'N', 'S')}</text><text x="12" y="${(north + 9).toFixed(1)}">${degrees(maxLat, 'N', 'S')}</text></g>`;
  return `<svg id="map" viewBox="0 0 ${width} ${height}" role="img" data-points="${points.length}"><rect width="${width}" height="${height}" fill="#eef6fb"/>${axes}${dots.join('')}${siteNames}${scaleBar}<text x="${pad}" y="${height - 4}" font-size="10">${degrees(minLon, 'E', 'W')} to ${degrees(maxLon, 'E', 'W')}, ${degrees(minLat, 'N', 'S')} to ${degrees(maxLat, 'N', 'S')}</text></svg>`;
}

function labelBars(totals: Map<string, number>, points: number, colours: Map<string, string>): string {
  const codes = [...totals.keys()];
  const row = 26;
  const bars = codes.map((code, i) => {
    const share = points === 0 ? 0 : (100 * totals.get(code)!) / points;
    return `<g><text x="0" y="${i * row + 17}" font-size="13">${escapeXml(code)}</text><rect x="90" y="${i * row + 4}" width="${(share * 5).toFixed(1)}" height="18" fill="${colours.get(code)}" stroke="#333" stroke-width="0.5"/><text x="${96 + share * 5}" y="${i * row + 17}" font-size="12">${fmt(share)} %</text></g>`;
  });
  return `<svg id="labels" viewBox="0 0 640 ${codes.length * row + 8}" role="img" data-labels="${codes.length}">${bars.join('')}</svg>`;
}

/** Writes `out/index.html` and returns its path. */
export async function writeReport(options: ReportOptions): Promise<string> {
  // First pass: how many photos, which labels, the time span.
  let total = 0;
  let points = 0;
  const totals = new Map<string, number>();
  let firstSecond = Infinity;
  let lastSecond = -Infinity;
  let withGps = 0;
  for await (const image of readAnnotatedImages(options.input)) {
    total++;
    points += image.labels.length;
    for (const label of image.labels) totals.set(label, (totals.get(label) ?? 0) + 1);
    const s = exifSeconds(image.dateTimeOriginal);
    if (s !== undefined) [firstSecond, lastSecond] = [Math.min(firstSecond, s), Math.max(lastSecond, s)];
    if (image.latitude !== undefined && image.longitude !== undefined) withGps++;
  }
  const codes = [...totals.keys()].sort((a, b) => totals.get(b)! - totals.get(a)! || a.localeCompare(b));
  const colours = labelColours(codes);
  const byTime = Number.isFinite(firstSecond);
  // About 100 bars over the survey's time span, one minute at the least.
  const windowMs = byTime ? Math.max(60_000, Math.ceil((lastSecond - firstSecond + 1) / 100 / 60) * 60_000) : 60_000;
  const coverRows = await lastValueFrom(pull(readAnnotatedImages(options.input)).pipe(percentCover({ by: byTime ? 'window' : 'folder', windowMs, groups: options.groups }), toArray()));
  // With label groups, the cover chart stacks the groups, and the points in none as one more.
  const OTHER = 'in no group';
  const groupNames = options.groups === undefined ? [] : [...new Set(options.groups.values())].sort();
  const chartCodes = options.groups === undefined ? codes : [...groupNames, OTHER];
  const chartColours = options.groups === undefined ? colours : labelColours(chartCodes);
  const shareOf = (row: CoverRow, code: string): number =>
    options.groups === undefined ? (row.labels[code] ?? 0) : code === OTHER ? Math.max(0, 100 - groupNames.reduce((sum, g) => sum + (row.groups[g] ?? 0), 0)) : (row.groups[code] ?? 0);

  // Second pass: the photos on the map (at most ~3000) and the gallery samples, evenly spaced.
  const mapStride = Math.max(1, Math.ceil(withGps / 3000));
  const samples = options.samples ?? 12;
  const galleryStride = Math.max(1, Math.floor(total / samples));
  const mapPoints: MapPoint[] = [];
  const gallery: Array<{ name: string; url?: string; points: Array<{ row: number; column: number; label: string }> }> = [];
  let gpsSeen = 0;
  let index = 0;
  for await (const line of createInterface({ input: createReadStream(options.input), crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    const image = JSON.parse(line) as { name: string; url?: string; latitude?: number; longitude?: number; points: Array<{ row: number; column: number; classifications: Array<{ label_code: string }> }> };
    const labels = image.points.map((p) => p.classifications[0]?.label_code ?? '');
    if (image.latitude !== undefined && image.longitude !== undefined && gpsSeen++ % mapStride === 0) {
      const counts = new Map<string, number>();
      for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
      const [label, n] = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0] ?? ['', 0];
      mapPoints.push({ name: image.name, latitude: image.latitude, longitude: image.longitude, label, share: labels.length ? n / labels.length : 0 });
    }
    if (index++ % galleryStride === 0 && gallery.length < samples) {
      gallery.push({ name: image.name, url: image.url, points: image.points.map((p, i) => ({ row: p.row, column: p.column, label: labels[i]! })) });
    }
  }

  const figures: string[] = [];
  const missing: string[] = [];
  for (const sample of gallery) {
    const file = options.images !== undefined ? join(options.images, sample.name) : undefined;
    let source: string | Buffer | undefined;
    if (file !== undefined && (await exists(file))) source = file;
    else if (sample.url !== undefined && options.images === undefined) {
      source = await fetch(sample.url).then(async (res) => (res.ok ? Buffer.from(await res.arrayBuffer()) : undefined), () => undefined);
    }
    if (source === undefined) {
      missing.push(sample.name);
      continue;
    }
    const jpeg = await drawPoints(source, sample.points, colours, { maxWidth: 480 });
    figures.push(`<figure><img alt="${escapeXml(sample.name)} with ${sample.points.length} points" src="data:image/jpeg;base64,${jpeg.toString('base64')}"><figcaption>${escapeXml(sample.name)}</figcaption></figure>`);
  }

  const errorsFile = options.errors ?? `${base(options.input)}.errors.ndjson`;
  const reasons = await failureReasons(errorsFile);
  const failed = [...reasons.values()].reduce((a, b) => a + b, 0);
  const runFile = options.run ?? `${base(options.input)}.run.json`;
  const run = (await exists(runFile)) ? (JSON.parse(await readFile(runFile, 'utf8')) as RunSummaryFile) : {};
  const legendOf = (names: string[], palette: Map<string, string>): string => names.map((name) => `<li><span class="swatch" style="background:${palette.get(name)}"></span>${escapeXml(name)}</li>`).join('');
  const legend = legendOf(codes, colours);
  const review = options.agreement === undefined ? '' : reviewSection(await readAgreement(options.agreement));
  const data = { images: total, points, failed, labels: Object.fromEntries(codes.map((c) => [c, totals.get(c)])), cover: coverRows, map: mapPoints.length, gallery: figures.length };

  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reefstream report — ${escapeXml(basename(options.input))}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1000px;color:#123;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccd}
.summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.6rem}
.summary div{background:#f2f6fa;padding:.6rem .8rem;border-radius:6px}.summary b{display:block;font-size:1.3rem}
svg{width:100%;height:auto}ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1rem}
.swatch{display:inline-block;width:14px;height:14px;border:1px solid #333;margin-right:.35rem;vertical-align:-2px}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:1rem}
figure{margin:0}figure img{width:100%;border-radius:4px}figcaption{font-size:.85rem;color:#456}
table{border-collapse:collapse}td,th{padding:.2rem .8rem;text-align:left;border-bottom:1px solid #eee}
</style></head><body>
<h1>Machine annotations: ${escapeXml(basename(options.input))}</h1>
<section id="summary"><h2>Run</h2><div class="summary">
<div><b>${fmt(total, 0)}</b>images annotated</div><div><b>${fmt(points, 0)}</b>points</div><div><b>${fmt(failed, 0)}</b>images failed</div>
${run.seconds !== undefined ? `<div><b>${duration(run.seconds)}</b>time taken</div>` : ''}${run.imagesPerMinute !== undefined ? `<div><b>${fmt(run.imagesPerMinute, 0)}</b>images per minute</div>` : ''}
</div>
${reasons.size > 0 ? `<table id="failures"><tr><th>Why images failed</th><th>Images</th></tr>${[...reasons].map(([r, n]) => `<tr><td>${escapeXml(r)}</td><td>${n}</td></tr>`).join('')}</table>` : '<p>No image failed.</p>'}
</section>
<section><h2>Cover ${byTime ? `over time (${fmt(windowMs / 60_000)}-minute windows of the photos' EXIF time, from ${new Date(firstSecond * 1000).toISOString().slice(0, 10)})` : 'by site (folder)'}</h2>
<ul class="legend"${options.groups ? ' id="group-legend"' : ''}>${legendOf(chartCodes, chartColours)}</ul>${stackedBars('cover-chart', coverRows, chartCodes, chartColours, byTime ? 'Time window (start)' : 'Site (folder)', shareOf)}</section>
<section><h2>Where the photos are</h2>${mapPoints.length > 0 ? `<p>Each photo at its GPS position, in the colour of its most frequent label (stronger for a larger share).</p>${scatterMap(mapPoints, colours)}` : '<p id="no-gps">No photo has a GPS position.</p>'}</section>
<section><h2>Labels over the whole survey</h2>${labelBars(new Map(codes.map((c) => [c, totals.get(c)!])), points, colours)}</section>
${review}
<section><h2>Sample photos with their machine points</h2><ul class="legend">${legend}</ul>
<div class="gallery" id="gallery">${figures.join('')}</div>${missing.length > 0 ? `<p>Not shown (photo not found${options.images ? ` in ${escapeXml(options.images)}` : ''}): ${missing.map(escapeXml).join(', ')}</p>` : ''}</section>
<script>
// Self-check once loaded: every embedded photo decoded (read by tests in a real browser).
window.addEventListener('load', () => {
  const broken = [...document.images].filter((img) => !img.complete || img.naturalWidth === 0).length;
  document.body.dataset.brokenImages = String(broken);
  document.body.dataset.ready = 'yes';
});
</script>
<script type="application/json" id="report-data">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
</body></html>
`;
  await mkdir(options.out, { recursive: true });
  const file = join(options.out, 'index.html');
  await writeFile(file, html);
  return file;
}

