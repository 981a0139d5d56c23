/*
 * parcelbot's agent console: sign-in, the queue of pending drafts (live
 * from /console/events), the case page with its editor, and the status
 * board. Plain JavaScript, no build step. Everything a buyer, a carrier or
 * the knowledge base wrote is put on the page with textContent, never as
 * HTML.
 */
'use strict';

const I18N = {
  en: {
    queue: 'Queue', board: 'Status board', sign_out: 'Sign out', sign_in: 'Sign in',
    name: 'Name', password: 'Password', mine: 'Mine', severity: 'Severity', intent: 'Intent',
    buyer: 'Buyer', carrier: 'Carrier', channel: 'Channel', brief: 'Brief', reply_due: 'Reply due',
    queue_empty: 'Nothing waiting.', back: '← Queue', conversation: 'Conversation',
    editor: 'Draft reply', approve: 'Approve & send', escalate: 'Escalate',
    reason_note: 'Reason or note', reject: 'Reject', add_note: 'Add note', resolve: 'Resolve',
    shortcuts: 'Ctrl+Enter approve · e escalate · n note · Esc back to the queue',
    assessment: 'Assessment', compensation: 'Compensation', checklist: 'Checklist', order: 'Order',
    trace: 'Trace', notes_reminders: 'Notes and reminders', history: 'History',
    by_state: 'Open cases by state', by_severity: 'By severity', by_intent: 'By intent',
    today: 'Today', carriers: 'Carriers', overdue: 'Overdue reminders',
    all_intents: 'All intents', all_severities: 'All severities', all_carriers: 'All carriers',
    all_channels: 'All channels', outcome: 'Outcome…', overdue_by: 'overdue', none: 'none',
    no_draft: 'No draft is waiting on this case.', wrong: 'Wrong name or password.',
    too_many: 'Too many attempts: wait a few minutes.', need_reason: 'Say why first.',
    need_outcome: 'Pick an outcome first.', done: 'Done.', case: 'Case',
    first_replies: 'First replies', mean_first: 'Mean first reply', approved_as_is: 'Approved as is',
    approved_edited: 'Approved edited', rejected: 'Rejected', escalations: 'Escalations',
    open: 'Open', anomalies: 'Anomalies', due: 'Due', kind: 'Kind', cap: 'cap', edited: 'edited',
    version: 'version', signed_out: 'Your session ended: sign in again.', state: 'State',
  },
  zh: {
    queue: '待处理', board: '看板', sign_out: '退出', sign_in: '登录',
    name: '账号', password: '密码', mine: '我的', severity: '严重度', intent: '问题类型',
    buyer: '买家', carrier: '快递', channel: '渠道', brief: '摘要', reply_due: '回复期限',
    queue_empty: '暂无待处理草稿。', back: '← 待处理', conversation: '对话',
    editor: '回复草稿', approve: '批准并发送', escalate: '升级',
    reason_note: '原因或备注', reject: '驳回', add_note: '添加备注', resolve: '结案',
    shortcuts: 'Ctrl+Enter 批准 · e 升级 · n 备注 · Esc 返回列表',
    assessment: '评估', compensation: '补偿', checklist: '核对清单', order: '订单',
    trace: '物流轨迹', notes_reminders: '备注与提醒', history: '处理记录',
    by_state: '未结案件（按状态）', by_severity: '按严重度', by_intent: '按问题类型',
    today: '今日', carriers: '快递公司', overdue: '已逾期提醒',
    all_intents: '全部类型', all_severities: '全部严重度', all_carriers: '全部快递',
    all_channels: '全部渠道', outcome: '处理结果…', overdue_by: '已逾期', none: '无',
    no_draft: '此案件没有待审草稿。', wrong: '账号或密码错误。',
    too_many: '尝试次数过多，请稍后再试。', need_reason: '请先填写原因。',
    need_outcome: '请先选择处理结果。', done: '已完成。', case: '案件',
    first_replies: '首次回复数', mean_first: '平均首次回复', approved_as_is: '原样批准',
    approved_edited: '修改后批准', rejected: '驳回', escalations: '升级',
    open: '未结', anomalies: '异常', due: '期限', kind: '类型', cap: '上限', edited: '已修改',
    version: '版本', signed_out: '会话已结束，请重新登录。', state: '状态',
  },
};
const OUTCOMES = ['reshipped', 'refunded', 'partial_refund', 'exchanged', 'delivered', 'found',
  'compensated', 'cancelled', 'no_action'];

let lang = localStorage.getItem('pb_lang') ||
  ((navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en');
let me = null;          /* {agent, role, csrf} */
let drafts = [];        /* the queue, as last fetched */
let current = null;     /* the case page: {caseId, draft} */
let events = null;      /* the EventSource */
let lintTimer = 0;

const $ = (id) => document.getElementById(id);
const t = (k) => (I18N[lang] && I18N[lang][k]) || I18N.en[k] || k;

/* An element with text only: children are nodes or strings (as text). */
function el(tag, opts, ...kids) {
  const e = document.createElement(tag);
  if (opts) {
    if (opts.cls) e.className = opts.cls;
    if (opts.text !== undefined && opts.text !== null) e.textContent = String(opts.text);
    if (opts.title) e.title = opts.title;
  }
  for (const k of kids) {
    if (k === null || k === undefined) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}
function clear(node) { node.replaceChildren(); return node; }
function plain(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function applyI18n() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const n of document.querySelectorAll('[data-i18n]')) n.textContent = t(n.dataset.i18n);
  $('lang-switch').textContent = lang === 'zh' ? 'English' : '中文';
}

/* ---- the API ---- */

class ApiError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}

async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && me) headers['X-CSRF-Token'] = me.csrf;
  const r = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let j = null;
  try { j = await r.json(); } catch (_) { j = null; }
  if (r.status === 401 && path !== '/console/login') { signedOut(); }
  if (!r.ok) throw new ApiError(r.status, (j && j.error && j.error.message) || r.statusText);
  return j;
}

/* ---- sign-in ---- */

function show(id) {
  for (const s of ['login', 'queue', 'case', 'board']) $(s).hidden = s !== id;
  $('top').hidden = id === 'login';
}

function signedOut() {
  me = null;
  if (events) { events.close(); events = null; }
  show('login');
}

async function start() {
  try {
    me = await api('GET', '/console/me');
  } catch (_) {
    signedOut();
    return;
  }
  $('who').textContent = me.agent + ' (' + me.role + ')';
  listen();
  route();
}

function listen() {
  if (events) events.close();
  events = new EventSource('/console/events');
  events.addEventListener('drafts', (ev) => {
    let d = null;
    try { d = JSON.parse(ev.data); } catch (_) { return; }
    $('pending-count').textContent = String(d.count);
    if (!$('queue').hidden) loadQueue();
  });
  events.addEventListener('signed_out', () => {
    events.close();
    events = null;
    $('login-error').textContent = t('signed_out');
    signedOut();
  });
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  $('login-error').textContent = '';
  try {
    me = await api('POST', '/console/login', {
      name: f.elements.namedItem('name').value, password: f.elements.namedItem('password').value });
    f.elements.namedItem('password').value = '';
    start();
  } catch (e) {
    $('login-error').textContent = e.status === 429 ? t('too_many') :
      e.status === 401 ? t('wrong') : e.message;
  }
});

$('logout').addEventListener('click', async () => {
  try { await api('POST', '/console/logout'); } catch (_) { /* signed out anyway */ }
  signedOut();
});

$('lang-switch').addEventListener('click', () => {
  lang = lang === 'zh' ? 'en' : 'zh';
  localStorage.setItem('pb_lang', lang);
  applyI18n();
  route();
});

/* ---- routing: #/queue, #/case/ID, #/board ---- */

function route() {
  if (!me) return;
  const h = location.hash || '#/queue';
  const m = h.match(/^#\/case\/(\d+)$/);
  if (m) { show('case'); loadCase(m[1]); return; }
  current = null;
  if (h === '#/board') { show('board'); loadBoard(); return; }
  show('queue');
  loadQueue();
}
window.addEventListener('hashchange', route);

/* ---- the queue ---- */

function dueText(iso) {
  if (!iso) return '';
  const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
  const a = Math.abs(s);
  const hh = Math.floor(a / 3600), mm = Math.floor((a % 3600) / 60), ss = a % 60;
  const txt = (hh ? hh + 'h ' : '') + String(mm).padStart(2, '0') + 'm ' + String(ss).padStart(2, '0') + 's';
  return s < 0 ? t('overdue_by') + ' ' + txt : txt;
}

function tickCountdowns() {
  for (const n of document.querySelectorAll('[data-due]')) {
    n.textContent = dueText(n.dataset.due);
    n.classList.toggle('overdue', Date.parse(n.dataset.due) < Date.now());
  }
}
setInterval(tickCountdowns, 1000);

function fillFilter(sel, label, values) {
  const keep = sel.value;
  clear(sel).append(el('option', { text: t(label) }));
  sel.firstChild.value = '';
  for (const v of [...new Set(values.filter((x) => x !== undefined && x !== null && x !== ''))].sort()) {
    const o = el('option', { text: v });
    o.value = String(v);
    sel.append(o);
  }
  sel.value = [...sel.options].some((o) => o.value === keep) ? keep : '';
}

async function loadQueue() {
  let r;
  try { r = await api('GET', '/api/v1/drafts?state=pending'); } catch (_) { return; }
  drafts = r.drafts || [];
  $('pending-count').textContent = String(drafts.length);
  const cs = (d) => d.case_summary || {};
  fillFilter($('f-intent'), 'all_intents', drafts.map((d) => cs(d).kind));
  fillFilter($('f-severity'), 'all_severities', drafts.map((d) => String(d.severity)));
  fillFilter($('f-carrier'), 'all_carriers', drafts.map((d) => cs(d).carrier));
  fillFilter($('f-channel'), 'all_channels', drafts.map((d) => cs(d).channel));
  renderQueue();
}

function renderQueue() {
  const fi = $('f-intent').value, fs = $('f-severity').value, fc = $('f-carrier').value;
  const fch = $('f-channel').value, mine = $('f-mine').checked;
  const rows = drafts.filter((d) => {
    const c = d.case_summary || {};
    return (!fi || c.kind === fi) && (!fs || String(d.severity) === fs) &&
      (!fc || c.carrier === fc) && (!fch || c.channel === fch) &&
      (!mine || (me && c.owner === me.agent));
  }).sort((a, b) => (b.severity - a.severity) ||
    ((a.reply_due ? Date.parse(a.reply_due) : Infinity) - (b.reply_due ? Date.parse(b.reply_due) : Infinity)) ||
    (a.id - b.id));
  const body = clear($('queue-rows'));
  for (const d of rows) {
    const c = d.case_summary || {};
    const due = el('td');
    if (d.reply_due) { due.dataset.due = d.reply_due; due.textContent = dueText(d.reply_due); }
    const tr = el('tr', null,
      el('td', null, el('span', { cls: 'sev sev-' + d.severity, text: d.severity })),
      el('td', { text: c.kind }), el('td', { text: c.buyer || c.conversation }),
      el('td', { text: c.carrier }), el('td', { text: c.channel }),
      el('td', { text: d.brief }), due);
    tr.tabIndex = 0;
    const open = () => { location.hash = '#/case/' + d.case; };
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
    body.append(tr);
  }
  $('queue-empty').hidden = rows.length > 0;
  tickCountdowns();
}
for (const id of ['f-intent', 'f-severity', 'f-carrier', 'f-channel', 'f-mine'])
  $(id).addEventListener('change', renderQueue);

/* ---- the case page ---- */

/* The buyer's text with the classifier's matched phrases marked, each
 * with its pattern id: text nodes only. */
function highlighted(text, matches) {
  const ranges = [];
  for (const m of matches || []) {
    if (m.suppressed || !m.text) continue;
    let from = 0, at;
    while ((at = text.indexOf(m.text, from)) >= 0) {
      ranges.push({ s: at, e: at + m.text.length, p: m.pattern, l: m.label });
      from = at + m.text.length;
    }
  }
  ranges.sort((a, b) => a.s - b.s || b.e - a.e);
  const frag = document.createDocumentFragment();
  let pos = 0;
  for (const r of ranges) {
    if (r.s < pos) continue;
    frag.append(document.createTextNode(text.slice(pos, r.s)));
    frag.append(el('mark', { title: r.l + ' · ' + r.p }, text.slice(r.s, r.e), el('sup', { text: r.p })));
    pos = r.e;
  }
  frag.append(document.createTextNode(text.slice(pos)));
  return frag;
}

function parseMaybe(v) {
  if (typeof v !== 'string') return v;
  try { return JSON.parse(v); } catch (_) { return v; }
}

function dl(node, obj) {
  clear(node);
  if (!obj || typeof obj !== 'object') { node.append(el('dd', { text: t('none') })); return; }
  for (const [k, v] of Object.entries(obj)) node.append(el('dt', { text: k }), el('dd', { text: plain(v) }));
}

async function loadCase(id) {
  let c;
  try { c = await api('GET', '/api/v1/cases/' + id); } catch (e) {
    $('case-title').textContent = e.message;
    return;
  }
  const cs = c.case || {};
  const tl = c.timeline || [];
  $('case-title').textContent = t('case') + ' ' + cs.id + ' · ' + plain(cs.kind) + ' · ' +
    t('severity') + ' ' + plain(cs.severity) + ' · ' + plain(cs.state) +
    (cs.buyer ? ' · ' + cs.buyer : '');

  const conv = clear($('conv'));
  for (const it of tl.filter((x) => x.type === 'message')) {
    conv.append(el('div', { cls: 'msg ' + (it.direction === 'out' ? 'out' : 'in') },
      el('span', { cls: 'meta', text: [it.at, it.author].filter(Boolean).join(' · ') }),
      it.direction === 'in' ? highlighted(String(it.text || ''), it.matches) : String(it.text || '')));
  }

  dl($('order'), parseMaybe(c.order));
  const asmt = c.parcel ? parseMaybe(c.parcel.assessment) : null;
  const trace = clear($('trace'));
  for (const an of (asmt && asmt.anomalies) || []) trace.append(el('li', { cls: 'anomaly', text: '⚠ ' + plain(an) }));
  for (const it of tl.filter((x) => x.type === 'trace').reverse())
    trace.append(el('li', null, el('span', { cls: 'muted', text: it.at + ' ' }), [plain(it.state), plain(it.location), plain(it.description)].filter(Boolean).join(' · ')));

  const drs = tl.filter((x) => x.type === 'draft');
  const latest = drs.length ? drs[drs.length - 1] : null;
  const pending = latest && latest.state === 'pending' ? latest : null;
  current = { caseId: cs.id, draft: pending ? pending.id : null, original: pending ? pending.reply : '' };

  const assess = clear($('assess'));
  const adl = el('dl');
  dl(adl, asmt && typeof asmt === 'object' ? asmt : null);
  assess.append(el('p', null, el('span', { cls: 'sev sev-' + (latest ? latest.severity : cs.severity), text: latest ? latest.severity : cs.severity }), ' ', latest ? plain(latest.action) : ''), adl);
  const reasons = latest ? parseMaybe(latest.reasons) : null;
  if (Array.isArray(reasons)) { const ul = el('ul'); for (const r of reasons) ul.append(el('li', { text: plain(r) })); assess.append(ul); }

  const comp = latest ? parseMaybe(latest.compensation) : null;
  const cn = clear($('comp'));
  if (comp && typeof comp === 'object')
    cn.append(el('p', { text: [plain(comp.kind), plain(comp.amount), plain(comp.currency)].filter(Boolean).join(' ') +
      (comp.cap !== undefined ? ' (' + t('cap') + ' ' + plain(comp.cap) + ')' : '') }), el('p', { cls: 'muted', text: plain(comp.rule) }));
  else cn.append(el('p', { cls: 'muted', text: t('none') }));

  const cl = clear($('checklist'));
  const items = latest ? parseMaybe(latest.checklist) : null;
  for (const i of Array.isArray(items) ? items : []) cl.append(el('li', { text: typeof i === 'object' ? (i.text || plain(i)) : i }));

  const notes = clear($('notes'));
  for (const it of tl.filter((x) => x.type === 'note' || x.type === 'reminder')) {
    notes.append(el('li', { text: it.type === 'note' ? it.at + ' ' + it.agent + ': ' + it.text :
      '⏰ ' + it.kind + ' ' + t('due') + ' ' + it.due + (it.done_at ? ' ✓' : '') + (it.escalated_at ? ' ⚠' : '') }));
  }
  const hist = clear($('history'));
  for (const it of tl.filter((x) => x.type === 'event' || x.type === 'decision')) {
    hist.append(el('li', null, el('span', { cls: 'muted', text: it.at + ' ' }),
      it.type === 'event' ? [it.actor, it.what, (it.from || '') + '→' + it.to, it.note].filter(Boolean).join(' · ')
        : [it.agent, it.kind, it.reason].filter(Boolean).join(' · ')));
  }

  const ta = $('draft-text');
  ta.value = pending ? String(pending.reply || '') : '';
  ta.disabled = !pending;
  for (const b of ['b-approve', 'b-escalate', 'b-reject']) $(b).disabled = !pending;
  $('draft-meta').textContent = pending ? t('version') + ' ' + pending.version + ' · ' + plain(pending.template) : t('no_draft');
  $('action-msg').textContent = '';
  const outcome = clear($('outcome'));
  outcome.append(el('option', { text: t('outcome') }));
  outcome.firstChild.value = '';
  for (const o of OUTCOMES) { const op = el('option', { text: o }); op.value = o; outcome.append(op); }
  renderLint(pending ? parseMaybe(pending.lint) : []);
}

function renderLint(list) {
  const ul = clear($('lint'));
  const items = Array.isArray(list) ? list : (list && list.findings) || [];
  for (const f of items) ul.append(el('li', { text: plain(f.code) + (f.text ? ' «' + f.text + '»' : '') + (f.message ? ': ' + f.message : '') }));
}

$('draft-text').addEventListener('input', () => {
  clearTimeout(lintTimer);
  lintTimer = setTimeout(async () => {
    const text = $('draft-text').value;
    try { const r = await api('POST', '/api/v1/lint', current ? { text, case: current.caseId } : { text }); renderLint(r.lint); } catch (_) { /* keep the last */ }
  }, 400);
});

async function act(fn) {
  const msg = $('action-msg');
  msg.className = '';
  try {
    await fn();
    msg.textContent = t('done');
    if (current) loadCase(current.caseId);
  } catch (e) {
    msg.className = 'error';
    msg.textContent = e.message;
  }
}

function approve() {
  if (!current || !current.draft) return;
  const text = $('draft-text').value;
  act(() => api('POST', '/api/v1/drafts/' + current.draft + '/approve', text !== current.original ? { text } : {}));
}
function escalate() {
  if (!current || !current.draft) return;
  const reason = $('reason').value.trim();
  act(() => api('POST', '/api/v1/drafts/' + current.draft + '/escalate', reason ? { reason } : {}));
}
function reject() {
  if (!current || !current.draft) return;
  const reason = $('reason').value.trim();
  if (!reason) { $('action-msg').textContent = t('need_reason'); $('reason').focus(); return; }
  act(() => api('POST', '/api/v1/drafts/' + current.draft + '/reject', { reason }));
}
function note() {
  const text = $('reason').value.trim();
  if (!current || !text) { $('reason').focus(); return; }
  act(async () => { await api('POST', '/api/v1/cases/' + current.caseId + '/notes', { text }); $('reason').value = ''; });
}
function resolve() {
  const outcome = $('outcome').value;
  if (!current) return;
  if (!outcome) { $('action-msg').textContent = t('need_outcome'); return; }
  act(() => api('POST', '/api/v1/cases/' + current.caseId + '/resolve', { outcome }));
}
$('b-approve').addEventListener('click', approve);
$('b-escalate').addEventListener('click', escalate);
$('b-reject').addEventListener('click', reject);
$('b-note').addEventListener('click', note);
$('b-resolve').addEventListener('click', resolve);

document.addEventListener('keydown', (e) => {
  if ($('case').hidden) return;
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); approve(); return; }
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
  if (e.key === 'Escape') { if (typing) document.activeElement.blur(); else location.hash = '#/queue'; return; }
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === 'e') { e.preventDefault(); escalate(); }
  else if (e.key === 'n') { e.preventDefault(); if ($('reason').value.trim()) note(); else $('reason').focus(); }
});

/* ---- the status board ---- */

function table(node, head, rows) {
  clear(node);
  if (head) node.append(el('tr', null, ...head.map((h) => el('th', { text: h }))));
  for (const r of rows) node.append(el('tr', null, ...r.map((c) => el('td', { text: plain(c) }))));
  if (!rows.length) node.append(el('tr', null, el('td', { cls: 'muted', text: t('none') })));
}

function pct(x) { return Math.round((x || 0) * 100) + '%'; }
function mins(s) { return s === null || s === undefined ? '—' : Math.round(s / 60) + ' min'; }

async function loadBoard() {
  let s;
  try { s = await api('GET', '/api/v1/stats'); } catch (_) { return; }
  const o = s.open || {};
  table($('b-state'), null, Object.entries(o.by_state || {}));
  table($('b-severity'), null, Object.entries(o.by_severity || {}));
  table($('b-intent'), null, Object.entries(o.by_intent || {}));
  const td = s.today || {}, dc = td.decisions || {}, sh = td.shares || {};
  table($('b-today'), null, [
    [t('first_replies'), td.first_replies], [t('mean_first'), mins(td.first_reply_mean_s)],
    [t('approved_as_is'), pct(sh.approved_as_is) + ' (' + (dc.approve || 0) + ')'],
    [t('approved_edited'), pct(sh.approved_edited) + ' (' + (dc.approve_edited || 0) + ')'],
    [t('rejected'), pct(sh.rejected) + ' (' + (dc.reject || 0) + ')'],
    [t('escalations'), dc.escalate || 0]]);
  table($('b-carriers'), [t('carrier'), t('open'), t('anomalies')],
    (s.carriers || []).map((c) => [c.carrier, c.open, c.anomalies]));
  table($('b-overdue'), [t('case'), t('kind'), t('due')],
    (s.overdue || []).map((r) => [r.case, r.kind, r.due]));
}

applyI18n();
start();
