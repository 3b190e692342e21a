// The report in a real browser (run by tests/browser.rs; see docs/testing.md):
//   node check.mjs REPORT_DIR SCREENSHOT_DIR
// renders every page of REPORT_DIR in headless Debian chromium (/usr/bin/chromium, through
// playwright-core) and fails on: a console error or page error, any request that is not a
// file of the report, SVG text whose box leaves its <svg>, an axe-core violation, and (at
// 390 px wide) a page that scrolls sideways. Saves a screenshot of each page.
// Prints one line per page and `N passed, N failed`; exits 1 if any page failed.
import { readFileSync, readdirSync, mkdtempSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { tmpdir } from "node:os";
import { pathToFileURL } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const [reportDir, shotDir] = process.argv.slice(2).map((p) => resolve(p));
const SHOT_TIMEOUT_MS = 180000;
if (!reportDir || !shotDir) {
  console.error("usage: node check.mjs REPORT_DIR SCREENSHOT_DIR");
  process.exit(2);
}

function htmlFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...htmlFiles(path));
    else if (name.endsWith(".html")) out.push(path);
  }
  return out;
}

const pages = htmlFiles(reportDir);
mkdirSync(shotDir, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), "yardstick-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 1280, height: 900 },
});

let passed = 0;
let failed = 0;
const reportUrl = pathToFileURL(reportDir).href;
try {
  for (const file of pages) {
    const name = relative(reportDir, file).split(sep).join("/");
    const problems = [];
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(reportUrl + "/")) return route.continue();
      problems.push(`external request: ${url}`);
      return route.abort();
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    // Open every <details>, as a reader would, so that their charts are laid out.
    await page.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = true)));
    const clipped = await page.evaluate(() => {
      const out = [];
      for (const svg of document.querySelectorAll("svg")) {
        const box = svg.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;
        for (const t of svg.querySelectorAll("text")) {
          const r = t.getBoundingClientRect();
          if (r.width === 0 && r.height === 0) continue;
          const slack = 0.5;
          if (r.left < box.left - slack || r.right > box.right + slack || r.top < box.top - slack || r.bottom > box.bottom + slack) {
            out.push(`"${t.textContent}" (${r.left.toFixed(1)}..${r.right.toFixed(1)} x ${r.top.toFixed(1)}..${r.bottom.toFixed(1)}) outside its svg (${box.left.toFixed(1)}..${box.right.toFixed(1)} x ${box.top.toFixed(1)}..${box.bottom.toFixed(1)})`);
          }
        }
      }
      return out;
    });
    problems.push(...clipped.map((c) => `clipped text: ${c}`));
    await page.evaluate(axeSource);
    const axe = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
    for (const v of axe.violations) {
      const where = v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ");
      problems.push(`axe ${v.id} (${v.impact}): ${v.help}: ${v.nodes.length} element(s): ${where}`);
    }
    const shot = join(shotDir, name.replace(/\//g, "__").replace(/\.html$/, ".png"));
    // A full-page picture of a long page can take Chromium (no GPU) more than the default
    // 30 s when the other tests load both cores; the picture is a record, not a check.
    await page.screenshot({ path: shot, fullPage: true, timeout: SHOT_TIMEOUT_MS });
    // A phone: 390 px wide, no sideways scrolling.
    await page.setViewportSize({ width: 390, height: 844 });
    const wide = await page.evaluate(() => {
      const w = document.documentElement.scrollWidth;
      if (w <= window.innerWidth + 1) return null;
      const culprits = [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 3)
        .map((e) => e.tagName.toLowerCase() + (e.className && typeof e.className === "string" ? "." + e.className : ""));
      return `${w} px wide at 390 px (${culprits.join(", ")})`;
    });
    if (wide) problems.push(`sideways scroll: ${wide}`);
    await page.screenshot({ path: shot.replace(/\.png$/, ".390.png"), fullPage: false, timeout: SHOT_TIMEOUT_MS });
    await page.close();
    if (problems.length === 0) {
      passed++;
      console.log(`ok ${name}`);
    } else {
      failed++;
      console.log(`FAIL ${name}`);
      for (const p of problems) console.log(`  ${p}`);
    }
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
