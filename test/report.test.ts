/**
 * The HTML report: charts rendered to SVG in Node, opened in headless Chromium. Skipped, with a
 * message, where /usr/bin/chromium is not installed (`apt-get install chromium`).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import { load } from '../lib';
import { evaluateAccuracy } from '../lib/accuracy';
import { measureTiming } from '../lib/paper/measure';
import { buildReportHtml } from '../lib/paper/report';
import { collectResults, dataDir } from '../lib/paper/results';

const CHROMIUM = '/usr/bin/chromium';
const SCRATCH = path.resolve(__dirname, '..', '..', 'scratch');

describe('report: self-contained HTML with SVG charts', function () {
  let html = '';
  let file = '';

  before(async function () {
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
    const slim = path.join(dataDir(), 'weights', 'tf-slim-frozen', 'mobilenet_v1_0.25_128', 'frozen_graph.pb');
    if (fs.existsSync(slim) && fs.existsSync(path.join(r.sampleDir, 'labels.tsv'))) {
      const m = await load({ weights: slim });
      try {
        const a = await evaluateAccuracy(m, r.sampleDir, { preprocess: 'center-crop', limit: 16 });
        r.accuracy.push({ modelId: 'slim-0.25-128', label: 'TF-slim α=0.25/128', alpha: 0.25, resolution: 128, preprocess: 'center-crop', top1: a.top1, top5: a.top5, count: a.count });
      } finally {
        m.dispose();
      }
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
    expect(html).to.include('ours: sample photos (measured)');
  });

  it('renders in headless Chromium: the DOM has ≥ 4 SVG charts with drawn marks; screenshot in scratch/report.png', function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      (skipped: ${CHROMIUM} is missing — apt-get install chromium to run the browser check)`);
      this.skip();
    }
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
