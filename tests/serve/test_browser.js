// The Muse page in headless Chromium (Debian's /usr/bin/chromium) through
// playwright-core. Run by test_browser.py, which starts `muse serve` and sets
// MUSE_URL. Each test is what a person does: type a question and get an
// answer with a source; paste readings and hover a point of the chart; say
// something that is an emergency and see the emergency banner.
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { chromium } = require("playwright-core");

const URL = process.env.MUSE_URL;
const CHROMIUM = process.env.MUSE_CHROMIUM || "/usr/bin/chromium";
const TIMEOUT = 30000;  // ASan builds answer slowly; nothing here measures time

let context;
let profile;

before(async () => {
  assert.ok(URL, "MUSE_URL is not set (run through test_browser.py)");
  profile = fs.mkdtempSync(path.join(os.tmpdir(), "muse-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    timeout: TIMEOUT,
  });
});

after(async () => {
  if (context) await context.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

async function openPage() {
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));
  // The page must not try to load anything from anywhere else.
  page.on("request", (r) => {
    if (!r.url().startsWith(URL)) problems.push("request outside the server: " + r.url());
  });
  await page.goto(URL);
  return { page, problems };
}

async function ask(page, question, mode) {
  if (mode) await page.selectOption("#mode", mode);
  await page.fill("#question", question);
  const answered = page.waitForResponse((r) => r.url().endsWith("/v1/ask"));
  await page.press("#question", "Enter");
  const resp = await answered;
  assert.equal(resp.status(), 200, "POST /v1/ask answered " + resp.status());
  await page.waitForSelector("#answer:not([hidden])");
  await page.waitForFunction(() => document.getElementById("answer").getAttribute("aria-busy") === "false");
}

test("a question gets an answer with sections and a source", async () => {
  const { page, problems } = await openPage();
  await ask(page, "What is asthma?");
  const summary = await page.textContent("#summary");
  assert.ok(summary.trim().length > 20, "summary: " + summary);
  const sections = await page.locator("#sections h3").count();
  assert.ok(sections >= 1, "no sections");
  const sources = page.locator("#sources > li");
  assert.ok(await sources.count() >= 1, "no sources listed");
  assert.match(await sources.first().textContent(), /asthma/i);
  // Citations link to their source.
  const cite = page.locator("#sections a.cite").first();
  assert.match(await cite.getAttribute("href"), /^#source-\d+$/);
  // Focus moves to the answer, for keyboard and screen-reader users.
  assert.equal(await page.evaluate(() => document.activeElement.id), "answer-heading");
  assert.deepEqual(problems, []);
  await page.close();
});

test("HTML in a question stays text", async () => {
  const { page, problems } = await openPage();
  await page.evaluate(() => { window.__pwned = 0; });
  await ask(page, '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> what is asthma?', "instant");
  assert.equal(await page.evaluate(() => window.__pwned), 0);
  assert.equal(await page.locator("#answer img, #answer script, main img").count(), 0);
  assert.deepEqual(problems.filter((p) => !/^Failed to load resource/.test(p)), []);
  await page.close();
});

test("an emergency shows the emergency banner", async () => {
  const { page } = await openPage();
  await ask(page, "crushing chest pain and my left arm is numb");
  const banner = page.locator("#seek-care");
  await banner.waitFor({ state: "visible" });
  assert.equal(await banner.getAttribute("role"), "alert");
  assert.match(await banner.getAttribute("class"), /level-emergency/);
  const text = await banner.textContent();
  assert.match(text, /emergency/i);
  assert.match(text, /911/);
  // The banner is the first thing in the answer, above everything else.
  const first = await page.evaluate(() => {
    const a = document.getElementById("answer");
    return Array.from(a.children).find((c) => !c.hidden && c.tagName !== "H2").id;
  });
  assert.equal(first, "seek-care");
  await page.close();
});

test("pasted readings draw a chart with a working tooltip", async (t) => {
  const { page, problems } = await openPage();
  await page.fill("#readings", "Mon 8am 142/91\nTue 8am 138/88\nWed 8am 151/95\nThu 8am 135/86");
  const drawn = page.waitForResponse((r) => r.url().endsWith("/v1/chart"));
  const interpreted = page.waitForResponse((r) => r.url().endsWith("/v1/interpret"));
  await page.click("#chart-button");
  const resp = await drawn;
  if (resp.status() === 501) {
    t.skip("charts are not in this build of muse serve");
    await page.close();
    return;
  }
  assert.equal(resp.status(), 200);
  const svg = page.locator("#readings-chart svg");
  await svg.waitFor();
  const hits = page.locator("#readings-chart .chart-hit");
  assert.ok(await hits.count() >= 4, "expected a hit target per reading");
  const tip = page.locator("#readings-chart .chart-tip");
  assert.equal(await tip.isVisible(), false);
  await hits.first().hover();
  await tip.waitFor({ state: "visible" });
  assert.match(await tip.textContent(), /\d{2,3}/);
  // Keyboard: focus shows the same tooltip; Escape hides it.
  await page.mouse.move(0, 0);
  await hits.nth(1).focus();
  await tip.waitFor({ state: "visible" });
  await page.keyboard.press("Escape");
  await tip.waitFor({ state: "hidden" });
  // The chart has an accessible name.
  assert.equal(await svg.getAttribute("role"), "img");
  // Below it, each reading with its guideline category (when this build interprets).
  if ((await interpreted).status() === 200) {
    const notes = page.locator("#readings-notes");
    await notes.waitFor({ state: "visible" });
    assert.match(await notes.textContent(), /151\/95 mmHg: Stage 2 hypertension/);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test("every control has a label", async () => {
  const { page } = await openPage();
  const unlabeled = await page.evaluate(() =>
    Array.from(document.querySelectorAll("input, select, textarea"))
      .filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id));
  assert.deepEqual(unlabeled, []);
  await page.close();
});
