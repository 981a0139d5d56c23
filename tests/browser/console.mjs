// Drives the agent console in headless Chromium against a running daemon:
// BASE (http://127.0.0.1:PORT), an agent AGENT with password PASSWORD, and a
// pending draft whose buyer message holds markup. Prints TAP.
import { chromium } from 'playwright-core';

const BASE = process.env.BASE, AGENT = process.env.AGENT, PASSWORD = process.env.PASSWORD;
let n = 0, failed = 0;
function ok(cond, name) {
  n++;
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const page = await browser.newPage({ locale: 'en-US' });
  const dialogs = [], cspErrors = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text()); });
  page.setDefaultTimeout(8000);

  await page.goto(BASE + '/');
  await page.waitForSelector('#login-form:visible');
  ok(true, 'the sign-in form shows');
  await page.fill('input[name=name]', AGENT);
  await page.fill('input[name=password]', 'wrong');
  await page.click('#login-form button');
  await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
  ok(/Wrong/.test(await page.textContent('#login-error')), 'a wrong password is reported');
  await page.fill('input[name=password]', PASSWORD);
  await page.click('#login-form button');
  await page.waitForSelector('#queue-rows tr');
  ok((await page.textContent('#who')).includes(AGENT), 'signed in; the queue shows');
  ok((await page.locator('#queue-rows tr').count()) >= 1, 'a pending draft is listed');
  await page.waitForFunction(() => /\d+m \d+s/.test(document.querySelector('#queue-rows tr td:last-child').textContent));
  ok(true, 'with a live countdown');

  await page.click('#queue-rows tr');
  await page.waitForSelector('#conv .msg');
  const msg = await page.textContent('#conv .msg.in');
  ok(msg.includes('<script>alert(1)</script><img src=x onerror=alert(1)>'), "the buyer's markup shows as text");
  ok((await page.locator('#conv img').count()) === 0, 'and no element is made from it');
  ok((await page.locator('#conv mark').count()) >= 1, 'matched phrases are highlighted');
  ok((await page.locator('#conv mark sup').first().textContent()).length > 0, 'with their pattern id');

  await page.fill('#draft-text', '包裹已经签收了，请查收。');
  await page.waitForFunction(() => document.querySelectorAll('#lint li').length > 0);
  ok(true, 'lint findings appear as the agent types');

  await page.focus('#draft-text');
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction(() => /Done/.test(document.getElementById('action-msg').textContent));
  ok(true, 'Ctrl+Enter approves');
  ok(/approve_edited/.test(await page.textContent('#history')) && (await page.textContent('#history')).includes(AGENT),
    'the history shows the edited approval by the signed-in agent');

  await page.click('#lang-switch');
  ok((await page.textContent('#b-approve')) === '批准并发送', 'the switch turns the page Chinese');
  await page.click('#lang-switch');

  await page.goto(BASE + '/#/board');
  await page.waitForSelector('#b-today tr');
  ok(/Approved edited/.test(await page.textContent('#b-today')), 'the status board shows today');

  await page.click('#logout');
  await page.waitForSelector('#login-form:visible');
  ok(true, 'sign out returns to the sign-in form');
  ok(dialogs.length === 0, 'no script from the buyer ran');
  ok(cspErrors.length === 0, 'no Content Security Policy violations: ' + cspErrors.join(' | '));
} catch (e) {
  ok(false, 'browser run: ' + e.message.split('\n')[0]);
} finally {
  await browser.close();
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
