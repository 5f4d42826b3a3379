#!/usr/bin/env node
// Headless-browser checker for pbrsim's self-contained HTML reports.
//
// Usage:
//   node tests/browser/check_reports.mjs --screenshots DIR report1.html [report2.html ...]
//
// Each report is opened as a file:// URL in a real Chromium, because the
// things that break in a report (a script error, an SVG chart that lays out
// to nothing, an empty table, a stray link to a CDN) only show up once a
// browser has actually run and laid out the page; string checks on the HTML
// cannot see them.
//
// Environment:
//   PBRSIM_CHROMIUM=PATH       use this browser binary and no other; if the
//                              path does not exist the browser counts as
//                              missing (we do not silently fall back, so a
//                              typo cannot hide behind a different browser).
//   PBRSIM_REQUIRE_BROWSER=1   a missing browser or playwright-core is an
//                              error (exit 1) instead of a skip (exit 0).
//
// Exit status: 0 if every report passed (or the check was skipped), 1 if any
// report failed or a required browser is missing, 2 on bad usage.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const VIEWPORT = { width: 1280, height: 900 };

// Looked at in order when PBRSIM_CHROMIUM is unset: Debian's package first,
// since that is what the project's install step puts on a machine.
const DEFAULT_BROWSERS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

// A report must be fully self-contained, so only these schemes may be loaded.
// Anything else (http, https, ws, ...) means the report would look different
// offline, or leak that it was opened.
const LOCAL_SCHEMES = new Set(['file:', 'data:', 'blob:', 'about:']);

// Elements that stand for data on a chart (pbrsim marks them with class
// "mark"; axes, grid lines and legends are not marks). One of them with a
// non-empty box is the minimum evidence that the chart was actually drawn.
const DRAWN_SELECTOR = '.mark';

// Browser flags: headless and without anything that talks to the network on
// its own (sync, component updates, QUIC probes), so the only requests seen
// are the report's own. --no-sandbox because CI runs as root, where
// Chromium's sandbox refuses to start.
const BROWSER_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Per-report limit for loading the page, generous because a 2-core CI box may
// be busy compiling at the same time.
const LOAD_TIMEOUT_MS = 60_000;

function usage(message) {
  if (message) console.error(`error: ${message}`);
  console.error('usage: node tests/browser/check_reports.mjs --screenshots DIR report.html [report.html ...]');
  process.exit(2);
}

function parseArgs(argv) {
  let screenshots = null;
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--screenshots') {
      if (i + 1 >= argv.length) usage('--screenshots needs a directory');
      screenshots = argv[++i];
    } else if (arg.startsWith('--screenshots=')) {
      screenshots = arg.slice('--screenshots='.length);
    } else if (arg === '-h' || arg === '--help') {
      usage();
    } else if (arg === '--') {
      files.push(...argv.slice(i + 1));
      break;
    } else if (arg.startsWith('-')) {
      usage(`unknown option ${arg}`);
    } else {
      files.push(arg);
    }
  }
  if (!screenshots) usage('--screenshots DIR is required');
  if (files.length === 0) usage('no report files given');
  return { screenshots, files };
}

// True for the schemes a self-contained report may load. A URL that does not
// even parse is treated as non-local, so it gets reported rather than crash us.
function isLocalUrl(url) {
  try {
    return LOCAL_SCHEMES.has(new URL(url).protocol);
  } catch {
    return false;
  }
}

function isExecutableFile(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

// Returns { path } or { missing: 'message' }.
function findBrowser() {
  const fromEnv = process.env.PBRSIM_CHROMIUM;
  // An empty value is treated like unset, so `PBRSIM_CHROMIUM= cmd` can be
  // used to clear an inherited setting.
  if (fromEnv !== undefined && fromEnv !== '') {
    if (isExecutableFile(fromEnv)) return { path: fromEnv };
    return {
      missing: `no Chromium found (PBRSIM_CHROMIUM=${fromEnv} is not an executable file); ` +
        'fix PBRSIM_CHROMIUM or unset it to use /usr/bin/chromium (apt-get install chromium)',
    };
  }
  const found = DEFAULT_BROWSERS.find(isExecutableFile);
  if (found) return { path: found };
  return {
    missing: `no Chromium found (looked at ${DEFAULT_BROWSERS.join(', ')}); ` +
      'install it with apt-get install chromium, or set PBRSIM_CHROMIUM',
  };
}

// A missing browser is a skip on a developer machine that lacks one, but must
// be a hard error where the check is meant to run (CI sets
// PBRSIM_REQUIRE_BROWSER=1), or the check would silently stop checking.
function browserMissing(message) {
  if (process.env.PBRSIM_REQUIRE_BROWSER === '1') {
    console.error(`ERROR: ${message} (PBRSIM_REQUIRE_BROWSER=1)`);
    process.exit(1);
  }
  console.error(`SKIP: ${message}`);
  process.exit(0);
}

// DIR/<parent dir name>-<file stem>.png: reports are usually all called
// report.html in per-run directories, so the directory name is what tells
// them apart.
function screenshotBase(dir, file) {
  const abs = path.resolve(file);
  const parent = path.basename(path.dirname(abs));
  const stem = path.basename(abs, path.extname(abs));
  return path.join(dir, `${parent}-${stem}`);
}

// Runs inside the page. Kept free of outside references because Playwright
// serialises it into the browser.
function inspectPage(drawnSelector) {
  const charts = [...document.querySelectorAll('svg.chart')].map((svg, index) => {
    const name = svg.id || (svg.closest('figure') && svg.closest('figure').id) || `#${index + 1} (no id)`;
    const box = svg.getBoundingClientRect();
    // getBoundingClientRect is zero for anything not rendered (display:none,
    // inside <defs>, a zero-size parent), which is exactly what we want to
    // reject; getBBox would report the geometry even when nothing is painted.
    // Defs-like containers are skipped explicitly as well, to be safe.
    const drawn = [...svg.querySelectorAll(drawnSelector)].filter((el) => {
      if (el.closest('defs, clipPath, mask, marker, pattern, symbol')) return false;
      const r = el.getBoundingClientRect();
      return r.width > 0 || r.height > 0;
    }).length;
    return { name, width: box.width, height: box.height, drawn };
  });
  const tables = [...document.querySelectorAll('table')].map((table, index) => {
    const caption = table.caption ? table.caption.textContent.trim().replace(/\s+/g, ' ') : '';
    const name = table.id ? `#${table.id}` : caption ? `"${caption}"` : `#${index + 1} (no id or caption)`;
    // Direct rows only, so a nested table's rows cannot make an empty outer
    // table look filled. The HTML parser always wraps rows in a <tbody>.
    const rows = table.querySelectorAll(':scope > tbody > tr').length;
    return { name, rows };
  });
  return { title: document.title.trim(), charts, tables };
}

async function checkReport(chromium, browserPath, file, screenshotDir) {
  const failures = [];
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) return { failures: [`file not found: ${abs}`] };

  // A fresh, empty profile per report: no cache, cookies or storage can carry
  // over from another report or from a developer's own browsing.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pbrsim-browser-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: browserPath,
      headless: true,
      args: BROWSER_ARGS,
      viewport: VIEWPORT,
      timeout: LOAD_TIMEOUT_MS,
      acceptDownloads: true,
    });

    // URLs we blocked; Chromium then also reports them as failed requests and
    // "Failed to load resource" console errors, which would only repeat the
    // same problem in noisier words.
    const blocked = new Set();
    const blockNonLocal = (url, what) => {
      if (blocked.has(url)) return;
      blocked.add(url);
      failures.push(`non-local ${what} blocked: ${url}`);
    };

    // Every request goes through here, so a non-local one is stopped before
    // it leaves the machine (CI has no network, and a report must not need it).
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (isLocalUrl(url)) {
        await route.continue();
      } else {
        blockNonLocal(url, `request (${route.request().method()})`);
        await route.abort('blockedbyclient');
      }
    });
    // WebSockets bypass context.route; refuse them the same way (not calling
    // connectToServer means nothing is ever sent).
    await context.routeWebSocket(/.*/, (ws) => {
      blockNonLocal(ws.url(), 'websocket');
      ws.close();
    });
    // Belt and braces: a request that somehow skipped the route is still seen.
    context.on('request', (request) => {
      const url = request.url();
      if (!isLocalUrl(url)) blockNonLocal(url, 'request');
    });
    context.on('requestfailed', (request) => {
      if (blocked.has(request.url())) return;
      failures.push(`request failed: ${request.url()} (${request.failure()?.errorText ?? 'unknown error'})`);
    });

    // The persistent context opens with one blank page; use it so listeners
    // are in place before the report starts loading.
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const loc = msg.location();
      if (loc?.url && blocked.has(loc.url)) return;
      const where = loc?.url ? ` (${loc.url}:${loc.lineNumber + 1})` : '';
      failures.push(`console error: ${msg.text()}${where}`);
    });
    page.on('pageerror', (err) => {
      failures.push(`page error: ${err.message}`);
    });

    await page.goto(pathToFileURL(abs).href, { waitUntil: 'load', timeout: LOAD_TIMEOUT_MS });
    // Charts drawn from a load handler or requestAnimationFrame land a frame
    // or two after 'load'; wait for fonts and two frames so we inspect, and
    // photograph, the page as a person would see it.
    await page.evaluate(async () => {
      await document.fonts.ready;
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    });

    const info = await page.evaluate(inspectPage, DRAWN_SELECTOR);

    if (!info.title) failures.push('document.title is empty');
    if (info.charts.length === 0) failures.push('no chart found (expected at least one svg.chart)');
    for (const chart of info.charts) {
      if (!(chart.width > 0 && chart.height > 0)) {
        failures.push(`chart ${chart.name}: zero-size box (${chart.width}x${chart.height})`);
      }
      if (chart.drawn === 0) {
        failures.push(`chart ${chart.name}: nothing drawn (no ${DRAWN_SELECTOR} with a non-empty box)`);
      }
    }
    for (const table of info.tables) {
      if (table.rows === 0) failures.push(`table ${table.name}: no rows in tbody`);
    }

    // "Save this chart as SVG" under the first chart must download that
    // chart as an SVG document (made in the page, so nothing is fetched).
    const save = page.locator('a.save').first();
    if ((await save.count()) > 0) {
      const id = await save.getAttribute('data-chart');
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: LOAD_TIMEOUT_MS }),
        save.click(),
      ]);
      const saved = await download.path().then((p) => fs.readFileSync(p, 'utf8'));
      if (download.suggestedFilename() !== `${id}.svg`) {
        failures.push(`save link of ${id}: downloads ${download.suggestedFilename()}`);
      }
      if (!saved.startsWith('<?xml') || !saved.includes(`id="${id}"`) || !saved.includes('</svg>')) {
        failures.push(`save link of ${id}: the file is not the chart's SVG`);
      }
    }

    // Screenshots are taken even for failing reports: they are the quickest
    // way to see what went wrong.
    const base = screenshotBase(screenshotDir, file);
    await page.screenshot({ path: `${base}.png`, fullPage: true });
    await page.screenshot({ path: `${base}-top.png`, fullPage: false });

    return { failures, charts: info.charts.length, tables: info.tables.length };
  } catch (err) {
    failures.push(`check aborted: ${err.message.split('\n')[0]}`);
    return { failures };
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

async function main() {
  const { screenshots, files } = parseArgs(process.argv.slice(2));

  const browser = findBrowser();
  if (browser.missing) browserMissing(browser.missing);

  // Imported lazily so that a machine without node_modules gets the skip
  // message above rather than a module-resolution stack trace. Node resolves
  // the name from this file's directory, so the cwd does not matter.
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (err) {
    browserMissing(
      `playwright-core cannot be loaded (${err.code ?? err.message}); ` +
        'install it with npm ci --prefix tests/browser',
    );
  }

  fs.mkdirSync(screenshots, { recursive: true });

  // Two reports mapping to the same screenshot name would overwrite each
  // other's pictures; say so rather than lose one silently.
  const seen = new Map();
  for (const file of files) {
    const base = screenshotBase(screenshots, file);
    if (seen.has(base)) console.error(`warning: ${file} and ${seen.get(base)} share screenshot name ${base}.png`);
    else seen.set(base, file);
  }

  let passed = 0;
  let failed = 0;
  // One report at a time: the machine has two cores and may be compiling.
  for (const file of files) {
    const result = await checkReport(chromium, browser.path, file, screenshots);
    if (result.failures.length === 0) {
      passed++;
      console.log(`ok  ${file}  (${result.charts} charts, ${result.tables} tables)`);
    } else {
      failed++;
      console.log(`FAIL ${file}`);
      for (const reason of result.failures) console.log(`    ${reason}`);
    }
  }
  // In the "N passed, N failed" form that CI log readers recognise.
  console.log(`reports: ${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((err) => {
  console.error(`ERROR: ${err.stack ?? err}`);
  process.exit(1);
});
