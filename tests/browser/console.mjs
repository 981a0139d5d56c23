// Drives the agent console in headless Chromium against a running daemon
// and the sandbox shop: BASE (the daemon), SBX (the sandbox), TOKEN (the API
// bearer token, used only to look things up), an agent AGENT with password
// PASSWORD, a pending draft (case 1) whose buyer message holds markup, and
// SHOTS, where the screenshots go; KBASE, when set, is a second daemon whose
// KB's reply texts and checklist hold markup, with the same agent and one
// pending draft (case 1). Prints TAP.
import { chromium } from 'playwright-core';

const { BASE, KBASE, SBX, TOKEN, AGENT, PASSWORD } = process.env;
const SHOTS = process.env.SHOTS || 'docs/img';
let n = 0, failed = 0;
function ok(cond, name) {
  n++;
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function json(url, opts = {}) {
  const r = await fetch(url, opts);
  return r.json();
}
async function conversation(id) {
  return json(`${SBX}/_sandbox/chatwoot/conversations/${id}`);
}
const publicReplies = (c) => (c.messages || []).filter((m) => (m.message_type === 1 || m.message_type === 'outgoing') && !m.private);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
let page;
try {
  page = await browser.newPage({ locale: 'en-US', viewport: { width: 1280, height: 860 } });
  const dialogs = [], cspErrors = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text()); });
  page.setDefaultTimeout(20000); /* the suite may be running beside other work */

  // --- sign in ---
  await page.goto(BASE + '/');
  await page.waitForSelector('#login-form:visible');
  await page.fill('input[name=name]', AGENT);
  await page.fill('input[name=password]', 'wrong');
  await page.click('#login-form button');
  await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
  ok(/Wrong/.test(await page.textContent('#login-error')), 'a wrong password is refused');
  await page.fill('input[name=password]', PASSWORD);
  await page.click('#login-form button');
  await page.waitForSelector('#queue-rows tr');
  ok((await page.textContent('#who')).includes(AGENT), 'signs in; the queue shows');

  // --- a new draft arrives without a reload ---
  const before = await page.locator('#queue-rows tr').count();
  await fetch(`${SBX}/_sandbox/chatwoot/incoming`, {
    method: 'POST',
    body: JSON.stringify({ conversation: 601, text: '你好，我的快递好几天都没动了，一直停在广州转运中心', order_id: '3958172046650101' }),
  });
  await page.waitForFunction((b) => document.querySelectorAll('#queue-rows tr').length > b, before, { timeout: 15000 });
  ok(true, 'a new draft appears in the queue without a reload (Server-Sent Events)');
  await page.waitForFunction(() => /\d+m \d+s/.test(document.querySelector('#queue-rows tr td:last-child').textContent));
  ok(true, 'with a live countdown to the reply deadline');
  await page.screenshot({ path: `${SHOTS}/console-queue.png` });

  // --- approve the Chatwoot one as it is: the buyer gets exactly that text ---
  const drafts = await json(`${BASE}/api/v1/drafts?state=pending`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  const cw = drafts.drafts.find((d) => d.case_summary.channel === 'chatwoot');
  ok(!!cw, 'the Chatwoot buyer has a pending draft');
  await page.goto(`${BASE}/#/case/${cw.case}`);
  await page.waitForSelector('#draft-text');
  await page.waitForFunction(() => document.getElementById('draft-text').value.length > 0);
  const text = await page.inputValue('#draft-text');
  await page.click('#b-approve');
  /* "Done" shows until the case page reloads itself without a waiting draft. */
  await page.waitForFunction(() => /Done/.test(document.getElementById('action-msg').textContent) ||
    /No draft/.test(document.getElementById('draft-meta').textContent));
  let replies = [];
  for (let i = 0; i < 100 && replies.length === 0; i++) {
    replies = publicReplies(await conversation(601));
    if (!replies.length) await sleep(100);
  }
  ok(replies.length === 1 && replies[0].content === text, 'approve as-is: the sandbox received exactly that reply');
  await sleep(1200);
  ok(publicReplies(await conversation(601)).length === 1, 'and only once');

  // --- the case with markup: shown inert; a blame-shifting edit is flagged ---
  await page.goto(`${BASE}/#/case/1`);
  await page.waitForSelector('#conv .msg');
  const msg = await page.textContent('#conv .msg.in');
  ok(msg.includes('<script>alert(1)</script><img src=x onerror=alert(1)>'), "the buyer's <script> and <img onerror> show as text");
  ok((await page.locator('#conv img, #conv script').count()) === 0, 'and no element is made from them');
  ok((await page.locator('#conv mark').count()) >= 1, 'matched phrases are highlighted, with their pattern id');
  await page.fill('#draft-text', '亲，这是快递公司的问题，跟我们没关系，您自己去问快递吧。');
  await page.waitForFunction(() => document.querySelectorAll('#lint li').length > 0);
  const lint = await page.textContent('#lint');
  ok(lint.length > 0, 'a blame-shifting edit shows its lint findings before sending: ' + lint.slice(0, 80));

  // --- a note, then escalate ---
  await page.fill('#reason', 'asked ZTO about the hub; answer expected at 15:00');
  await page.click('#b-note');
  await page.waitForFunction(() => /answer expected at 15:00/.test(document.getElementById('notes').textContent));
  ok(true, 'a note shows on the case page');
  await page.screenshot({ path: `${SHOTS}/console-case.png`, fullPage: true });
  await page.fill('#reason', 'buyer is a repeat customer');
  await page.click('#b-escalate');
  await page.waitForFunction(() => /escalate/.test(document.getElementById('history').textContent));
  ok(true, 'escalate is recorded in the history');

  // --- CSRF: a state-changing call without the token is refused ---
  const status = await page.evaluate(async () => {
    const r = await fetch('/api/v1/cases/1/notes', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'forged' }),
    });
    return r.status;
  });
  ok(status === 403, `a POST with the session cookie but no CSRF token is refused (${status})`);

  // --- status board, language switch ---
  await page.goto(BASE + '/#/board');
  await page.waitForSelector('#b-today tr');
  ok((await page.textContent('#b-today')).length > 0, 'the status board shows today');
  await page.screenshot({ path: `${SHOTS}/console-board.png`, fullPage: true });
  await page.click('#lang-switch');
  await page.waitForFunction(() => /[\u4e00-\u9fff]/.test(document.body.textContent));
  ok(true, 'the switch turns the page Chinese');
  await page.click('#lang-switch');

  await page.click('#logout');
  await page.waitForSelector('#login-form:visible');
  ok(true, 'sign out returns to the sign-in form');
  ok(dialogs.length === 0, 'no script from a buyer ran');
  ok(cspErrors.length === 0, 'no Content Security Policy violations ' + cspErrors.join(' | '));

  // --- markup in the KB's text: shown as text, never made into elements ---
  if (KBASE) {
    const ctx2 = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 860 } });
    const p2 = await ctx2.newPage();
    const kbDialogs = [];
    p2.on('dialog', (d) => { kbDialogs.push(d.message()); d.dismiss(); });
    p2.setDefaultTimeout(20000);
    page = p2; /* for the report below if something fails */
    await p2.goto(KBASE + '/');
    await p2.waitForSelector('#login-form:visible');
    await p2.fill('input[name=name]', AGENT);
    await p2.fill('input[name=password]', PASSWORD);
    await p2.click('#login-form button');
    await p2.waitForSelector('#queue-rows tr');
    await p2.goto(`${KBASE}/#/case/1`);
    await p2.waitForFunction(() => document.getElementById('draft-text').value.length > 0);
    ok((await p2.inputValue('#draft-text')).includes('<img src=x onerror=alert(1)>'),
      "a reply template's <img onerror> shows as text in the draft editor");
    await p2.waitForFunction(() => document.querySelectorAll('#checklist li').length > 0);
    const cl = await p2.textContent('#checklist');
    ok(cl.includes('</b><script>alert(2)</script>') && cl.includes('<b>'),
      "a checklist item's <b> and <script> show as text");
    ok((await p2.locator('img[src="x"], #checklist b, #checklist script').count()) === 0,
      'and no element is made from KB text');
    await p2.click('#b-approve');
    await p2.waitForFunction(() => /No draft/.test(document.getElementById('draft-meta').textContent) ||
      /Done/.test(document.getElementById('action-msg').textContent));
    await p2.goto(`${KBASE}/#/case/1`);
    await p2.waitForFunction(() => /onerror/.test(document.getElementById('conv').textContent) ||
      /No draft/.test(document.getElementById('draft-meta').textContent));
    ok((await p2.locator('img[src="x"]').count()) === 0 && kbDialogs.length === 0,
      'approved, the reply with KB markup still makes no element and runs nothing');
    await ctx2.close();
  }
} catch (e) {
  ok(false, 'browser run: ' + e.message.split('\n')[0]);
  try {
    console.log('# at ' + page.url() + '; message: ' + (await page.textContent('#action-msg')) +
      '; draft: ' + (await page.inputValue('#draft-text')).slice(0, 60) + '; meta: ' + (await page.textContent('#draft-meta')));
  } catch { /* the page is gone */ }
} finally {
  await browser.close();
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
