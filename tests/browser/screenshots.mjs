// The README's screenshots (docs/screenshots/*.png), taken from a built report:
//   node screenshots.mjs REPORT_DIR OUT_DIR
// (scripts/screenshots builds the example and runs this). Headless Debian chromium, as in
// check.mjs; each picture is one part of a page, 900 px wide.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { pathToFileURL } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");
const [reportDir, outDir] = process.argv.slice(2).map((p) => resolve(p));
mkdirSync(outDir, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), "yardstick-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 900, height: 900 },
});
const shots = [
  // [file, page, CSS selector of the part]
  ["scorecard.png", "index.html", "section[aria-labelledby=scorecard]"],
  ["kpi-page.png", "kpi/answered_10s.html", "article.kpi"],
  ["hotspots.png", "index.html", "section[aria-labelledby=hotspots]"],
];
try {
  for (const [name, file, selector] of shots) {
    const page = await context.newPage();
    await page.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(join(reportDir, file)).href, { waitUntil: "load" });
    const part = page.locator(selector).first();
    if ((await part.count()) === 0) {
      console.log(`skipped ${name}: no ${selector} in ${file}`);
    } else {
      // At most 760 px high: the top of the part.
      // A full-page clip is in page coordinates: measure at the top of the page (a box
      // measured after scrolling is relative to the scrolled viewport).
      await page.evaluate(() => window.scrollTo(0, 0));
      const box = await part.boundingBox();
      await page.screenshot({ path: join(outDir, name), fullPage: true, clip: { x: box.x, y: box.y, width: box.width, height: Math.min(box.height, 760) } });
      console.log(`wrote ${join(outDir, name)}`);
    }
    await page.close();
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
