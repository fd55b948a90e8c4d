/**
 * The HTML report: charts rendered to SVG in Node, opened in headless Chromium. Skipped, with a
 * message, where /usr/bin/chromium is not installed (`apt-get install chromium`).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import { load } from '../lib';
import { evaluateAccuracy } from '../lib/apps/accuracy';
import { measureTiming } from '../lib/apps/paper/measure';
import { buildReportHtml } from '../lib/apps/paper/report';
import { collectResults } from '../lib/apps/paper/results';
import { requireData, requireTool, SAMPLE_LABELS, slimGraph } from './helpers/data';

const CHROMIUM = '/usr/bin/chromium';
const SCRATCH = path.resolve(__dirname, '..', '..', 'scratch');

describe('report: self-contained HTML with SVG charts', function () {
  let html = '';
  let file = '';
  let measuredTop1 = NaN;

  before(async function () {
    const slim = slimGraph(128);
    requireData(this, slim, SAMPLE_LABELS);
    // A small real measurement (two timed configurations, one real model on 16 photos) keeps the
    // test quick while every chart gets measured points.
    const r = await collectResults({ measure: false });
    r.measured = true;
    for (const [alpha, resolution] of [[0.25, 128], [0.5, 128]]) {
      const m = await load({ weights: 'random', alpha, resolution });
      try {
        const c = m.cost();
        r.timings.push({ alpha, resolution, variant: 'mobilenet', macs: c.macs, params: c.params, timing: await measureTiming(m, { runs1: 3, runs32: 1 }) });
      } finally {
        m.dispose();
      }
    }
    const m = await load({ weights: slim });
    try {
      const a = await evaluateAccuracy(m, r.sampleDir, { preprocess: 'center-crop', limit: 16 });
      r.accuracy.push({ modelId: 'slim-0.25-128', label: 'TF-slim α=0.25/128', alpha: 0.25, resolution: 128, preprocess: 'center-crop', top1: a.top1, top5: a.top5, count: a.count });
      measuredTop1 = 100 * a.top1;
    } finally {
      m.dispose();
    }
    html = await buildReportHtml(r);
    fs.mkdirSync(SCRATCH, { recursive: true });
    file = path.join(SCRATCH, 'report-test.html');
    fs.writeFileSync(file, html);
  });

  it('is one file with no scripts or external resources, ≥ 4 SVG charts and Tables 1–9', () => {
    expect(html).to.not.match(/<script|<link |src="http/);
    expect((html.match(/<svg[\s>]/g) ?? []).length).to.be.at.least(4);
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9]) expect(html).to.include(`id="table${n}"`);
    expect(html).to.include('quoted from the paper');
    // Figure 4 carries the log-scaled axis title and a measured point.
    expect(html).to.include('mult-adds (millions, log scale)');
    // A drawn point (not the legend, which lists the series anyway) at the measured top-1.
    const measured = html.match(/aria-roledescription="point"[^>]*aria-label="[^"]*series: ours: sample photos \(measured\)"|aria-label="[^"]*series: ours: sample photos \(measured\)"[^>]*aria-roledescription="point"/g) ?? [];
    expect(measured.length, 'measured accuracy points drawn').to.be.at.least(1);
    expect(measured.join('\n')).to.include(`top-1 accuracy (%): ${measuredTop1};`);
  });

  it('renders in headless Chromium: the DOM has ≥ 4 SVG charts with drawn marks; screenshot in scratch/report.png', function () {
    requireTool(this, CHROMIUM, 'apt-get install chromium');
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars'];
    const dom = execFileSync(CHROMIUM, [...args, '--dump-dom', `file://${file}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 120_000, maxBuffer: 64 << 20 });
    const svgs = dom.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs.length).to.be.at.least(4);
    for (const svg of svgs.slice(0, 4)) expect(svg).to.match(/<path |<line /);
    const png = path.join(SCRATCH, 'report.png');
    fs.rmSync(png, { force: true });
    execFileSync(CHROMIUM, [...args, '--window-size=1280,1400', `--screenshot=${png}`, `file://${file}`], { stdio: 'ignore', timeout: 120_000 });
    const bytes = fs.readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).to.equal('PNG');
    expect(bytes.length).to.be.greaterThan(50_000); // a blank 1280×1400 page compresses to a few kB
  });
});
