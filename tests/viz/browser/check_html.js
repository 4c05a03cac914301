// Manual check of a `muse chart ... -o chart.html` page in headless Chromium
// (Debian's chromium and playwright-core from npm): hover and keyboard focus
// show the tooltip, a toggle hides its series, the data table opens, and
// the page logs no errors. Exits 1 on a failed check.
//   muse chart tests/viz/specs/bp_trend.json -o /tmp/bp.html
//   node tests/viz/browser/check_html.js /tmp/bp.html
const { chromium } = require('playwright-core');
const file = process.argv[2] || '/tmp/bp.html';
const fail = (m) => { console.error('FAIL: ' + m); process.exitCode = 1; };
(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
  const errors = [];
  page.on('pageerror', e => errors.push(String(e)));
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto('file://' + require('path').resolve(file));
  const hit = page.locator('.muse-hit').nth(5);
  await hit.hover();
  const tip = page.locator('.muse-tip');
  const visible = await tip.isVisible();
  const text = await tip.innerText();
  console.log('tooltip visible:', visible, '|', text.replace(/\n/g, ' / '));
  if (!visible || !text.includes(':')) fail('hover shows no tooltip');
  // keyboard focus shows it too
  await page.mouse.move(0, 0);
  await page.keyboard.press('Tab'); await page.keyboard.press('Tab'); await page.keyboard.press('Tab'); await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('class'));
  console.log('focused:', focused, 'tip after focus:', await tip.isVisible());
  if (!/-hit$/.test(focused || '') || !(await tip.isVisible())) fail('keyboard focus shows no tooltip');
  // toggle the systolic series
  const before = await page.locator('.muse-s0').first().isVisible();
  await page.locator('.muse-toggles button').first().click();
  const after = await page.locator('.muse-s0').first().isVisible();
  if (!before || after) fail('the first toggle does not hide its series');
  console.log('systolic visible before/after toggle:', before, after,
              'aria-pressed:', await page.locator('.muse-toggles button').first().getAttribute('aria-pressed'));
  await page.locator('details.muse-table summary').click();
  const rows = await page.locator('details.muse-table tbody tr').count();
  console.log('table rows:', rows);
  if (rows < 1) fail('no data table rows');
  console.log('errors:', errors.length ? errors : 'none');
  if (errors.length) fail('the page logged errors');
  await browser.close();
})();
