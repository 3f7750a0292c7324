// The console's pages. Every figure shown comes from an operation of the
// CloudTrail API, called through the server's /console/api/<Operation>
// with the session's CSRF token; nothing is stored in the browser.

const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
const csrf = meta('csrf-token');
const admin = meta('role') === 'admin';
if (!admin) document.body.classList.add('read');

const view = document.getElementById('view');
const errorBox = document.getElementById('error');

// The placeholder of the example queries for the event data store's ID.
const storePlaceholder = 'event_data_store_ID';

class APIError extends Error {
  constructor(type, message) {
    super(type ? `${type}: ${message}` : message);
    this.type = type;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// call runs an operation of the API and returns its output; it waits and
// tries again when the server sheds the call with ThrottlingException.
async function call(op, input = {}) {
  for (let attempt = 1; ; attempt++) {
    const resp = await fetch(`api/${op}`, {
      method: 'POST',
      headers: {'Content-Type': 'application/x-amz-json-1.1', 'X-Csrf-Token': csrf},
      body: JSON.stringify(input),
      credentials: 'same-origin',
    });
    if (resp.status === 401) {
      location.reload();
      throw new APIError('', 'the session ended: sign in again');
    }
    const text = await resp.text();
    let out = {};
    try {
      out = text ? JSON.parse(text) : {};
    } catch {
      throw new APIError('', `${op}: HTTP ${resp.status}`);
    }
    if (resp.ok) return out;
    const type = (out.__type || '').split('#').pop();
    if (type === 'ThrottlingException' && attempt < 5) {
      await sleep(1000 * attempt);
      continue;
    }
    throw new APIError(type, out.message || out.Message || `HTTP ${resp.status}`);
  }
}

// all calls a paged List operation until its last page and returns the
// items of every page under key.
async function all(op, input, key) {
  const items = [];
  let token;
  do {
    const out = await call(op, token ? {...input, NextToken: token} : input);
    items.push(...(out[key] || []));
    token = out.NextToken;
  } while (token);
  return items;
}

// el makes an element: attrs sets properties (class, text, on<event>,
// dataset, attributes), children are nodes or strings.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k in e && typeof v !== 'string') e[k] = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

// table makes a table of rows with the columns cols: [{name, cell(row), num}].
function table(id, cols, rows) {
  return el('table', {id},
    el('thead', {}, el('tr', {}, cols.map((c) => el('th', {class: c.num ? 'num' : '', text: c.name})))),
    el('tbody', {}, rows.map((r) => el('tr', {}, cols.map((c) => {
      const v = c.cell(r);
      return el('td', {class: c.num ? 'num' : ''}, v);
    })))));
}

const status = (s) => el('span', {class: `status-${s}`, text: s});
const time = (t) => (t == null ? '' : new Date(t * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'));
const num = (n) => (n == null ? '' : Number(n).toLocaleString('en-US'));
const storeID = (arn) => arn.split('/').pop();

function showError(e) {
  errorBox.textContent = e.message || String(e);
  errorBox.hidden = false;
}

// The page shown: a new route ends the polls of the last one.
let page = {alive: false};

// poll runs fn now and every ms milliseconds while the page is shown and
// fn returns true.
async function poll(pg, ms, fn) {
  while (pg.alive) {
    let again;
    try {
      again = await fn();
    } catch (e) {
      showError(e);
      again = false;
    }
    if (!again) return;
    await sleep(ms);
  }
}

// poller returns the function that starts poll(pg, ms, fn) unless it runs
// already: the Stop and Retry buttons start the polls of a page again.
function poller(pg, ms, fn) {
  let running = false;
  return async () => {
    if (running) return;
    running = true;
    try {
      await poll(pg, ms, fn);
    } finally {
      running = false;
    }
  };
}

const routes = [
  [/^#\/stores$/, storesPage, 'stores'],
  [/^#\/imports$/, importsPage, 'imports'],
  [/^#\/imports\/([^/]+)$/, importPage, 'imports'],
  [/^#\/imports\/([^/]+)\/failures$/, failuresPage, 'imports'],
  [/^#\/start$/, startPage, 'start'],
  [/^#\/query$/, queryPage, 'query'],
];

function route() {
  page.alive = false;
  page = {alive: true};
  errorBox.hidden = true;
  const [path, query] = (location.hash || '#/stores').split('?');
  for (const [re, render, nav] of routes) {
    const m = path.match(re);
    if (!m) continue;
    for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === nav);
    view.replaceChildren();
    view.dataset.page = nav;
    render(page, new URLSearchParams(query || ''), ...m.slice(1).map(decodeURIComponent)).catch(showError);
    return;
  }
  location.hash = '#/stores';
}

async function storesPage() {
  view.append(el('h1', {text: 'Event data stores'}));
  const list = el('section');
  const load = async () => {
    const stores = await all('ListEventDataStores', {}, 'EventDataStores');
    list.replaceChildren(stores.length === 0 ? el('p', {class: 'muted', text: 'No event data stores yet.'}) : table('stores-table', [
      {name: 'Name', cell: (s) => s.Name},
      {name: 'ID', cell: (s) => storeID(s.EventDataStoreArn)},
      {name: 'Status', cell: (s) => status(s.Status)},
      {name: 'Retention (days)', num: true, cell: (s) => num(s.RetentionPeriod)},
      {name: 'Termination protection', cell: (s) => (s.TerminationProtectionEnabled ? 'on' : 'off')},
      {name: 'Created', cell: (s) => time(s.CreatedTimestamp)},
      {name: '', cell: (s) => el('span', {},
        el('a', {href: `#/query?store=${encodeURIComponent(storeID(s.EventDataStoreArn))}`, text: 'Query'}), ' ',
        el('a', {href: `#/imports?store=${encodeURIComponent(s.EventDataStoreArn)}`, text: 'Imports'}))},
    ], stores));
  };
  const name = el('input', {id: 'store-name', required: true, pattern: '[A-Za-z0-9._\\-]{3,128}', placeholder: 'trails'});
  const form = el('form', {class: 'card admin', id: 'create-store', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await call('CreateEventDataStore', {Name: name.value.trim()});
      name.value = '';
      await load();
    } catch (e) {
      showError(e);
    }
  }}, el('h2', {text: 'Create an event data store'}), el('label', {}, 'Name', name), el('button', {class: 'primary', type: 'submit', text: 'Create'}));
  view.append(list, admin ? form : '');
  await load();
}

// storeNames returns the names of the event data stores by ARN.
async function storeNames() {
  const stores = await all('ListEventDataStores', {}, 'EventDataStores');
  return new Map(stores.map((s) => [s.EventDataStoreArn, s.Name]));
}

async function importsPage(pg, params) {
  const dest = params.get('store') || '';
  view.append(el('h1', {text: 'Imports'}), dest ? el('p', {class: 'muted', text: `Into ${dest}`}) : '');
  const list = el('section');
  view.append(list);
  const names = await storeNames();
  await poll(pg, 2000, async () => {
    const imports = await all('ListImports', dest ? {Destination: dest} : {}, 'Imports');
    list.replaceChildren(imports.length === 0 ? el('p', {class: 'muted', text: 'No imports yet.'}) : table('imports-table', [
      {name: 'Import', cell: (i) => el('a', {href: `#/imports/${encodeURIComponent(i.ImportId)}`, text: i.ImportId})},
      {name: 'Status', cell: (i) => status(i.ImportStatus)},
      {name: 'Destinations', cell: (i) => i.Destinations.map((d) => names.get(d) || storeID(d)).join(', ')},
      {name: 'Created', cell: (i) => time(i.CreatedTimestamp)},
      {name: 'Updated', cell: (i) => time(i.UpdatedTimestamp)},
    ], imports));
    return imports.some((i) => !ended(i.ImportStatus));
  });
}

const ended = (s) => s === 'COMPLETED' || s === 'FAILED' || s === 'STOPPED';

// importActions are the Stop and Retry buttons of an import, for an
// admin: Stop while it runs, Retry once it ended FAILED or STOPPED.
function importActions(imp, after) {
  if (!admin) return '';
  const act = (op, input) => async (ev) => {
    ev.target.disabled = true;
    try {
      await call(op, input);
      await after();
    } catch (e) {
      showError(e);
      ev.target.disabled = false;
    }
  };
  return el('div', {class: 'row'},
    el('button', {id: 'stop-import', type: 'button', text: 'Stop', disabled: ended(imp.ImportStatus), onclick: act('StopImport', {ImportId: imp.ImportId})}),
    el('button', {id: 'retry-import', type: 'button', text: 'Retry', disabled: !(imp.ImportStatus === 'FAILED' || imp.ImportStatus === 'STOPPED'), onclick: act('StartImport', {ImportId: imp.ImportId})}));
}

// rate tells the rates of an import's counters over the last 30 seconds
// of its samples, per second.
class Rates {
  constructor() { this.samples = []; }
  add(stats) {
    const now = Date.now() / 1000;
    this.samples.push({t: now, ...stats});
    while (this.samples.length > 2 && now - this.samples[1].t > 30) this.samples.shift();
  }
  per(key) {
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    return b.t - a.t >= 1 ? (b[key] - a[key]) / (b.t - a.t) : NaN;
  }
}

const duration = (s) => {
  if (!isFinite(s) || s < 0) return '—';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
};

// size writes a count of bytes in B, kB, MB or GB (powers of 1000); log
// files count as stored, compressed.
const size = (n) => {
  if (n == null || !isFinite(n)) return '—';
  for (const [unit, of] of [['GB', 1e9], ['MB', 1e6], ['kB', 1e3]]) {
    if (n >= of) return `${(n / of).toFixed(1)} ${unit}`;
  }
  return `${Math.round(n)} B`;
};

// stat shows a figure; dataset keeps the number it shows rounded.
const stat = (label, value, id, dataset) => el('div', {class: 'stat'}, el('b', {id, text: value, dataset}), label);

async function importPage(pg, params, id) {
  const head = el('section');
  view.append(el('h1', {text: `Import ${id}`}), head);
  const names = await storeNames();
  const rates = new Rates();
  const refresh = poller(pg, 2000, () => show());
  const show = async () => {
    const imp = await call('GetImport', {ImportId: id});
    const st = imp.ImportStatistics || {};
    const bytes = imp.CtimportBytes || {};
    const done = ended(imp.ImportStatus);
    rates.add({events: st.EventsCompleted || 0, files: st.FilesCompleted || 0, bytes: bytes.BytesCompleted || 0, prefixes: st.PrefixesCompleted || 0});
    let events = rates.per('events');
    let files = rates.per('files');
    let bytesPerSecond = rates.per('bytes');
    const took = imp.UpdatedTimestamp - imp.CreatedTimestamp;
    if (done || !isFinite(events)) {
      events = took > 0 ? st.EventsCompleted / took : NaN;
      files = took > 0 ? st.FilesCompleted / took : NaN;
      bytesPerSecond = took > 0 && bytes.BytesCompleted != null ? bytes.BytesCompleted / took : NaN;
    }
    // While the import runs and its listing is over, the bytes left tell
    // the time left and the share done; before, the day prefixes do.
    const byBytes = !done && bytes.BytesRemaining != null;
    const left = (st.PrefixesFound || 0) - (st.PrefixesCompleted || 0);
    const eta = done ? 0 : byBytes ? bytes.BytesRemaining / rates.per('bytes') : left / rates.per('prefixes');
    const total = byBytes ? bytes.BytesCompleted + bytes.BytesRemaining : st.PrefixesFound || 0;
    const progress = el('progress', {id: 'import-progress', max: Math.max(total, 1),
      value: done ? Math.max(total, 1) : byBytes ? bytes.BytesCompleted : st.PrefixesCompleted || 0});
    const src = imp.ImportSource.S3;
    head.replaceChildren(
      el('p', {}, 'Status: ', el('span', {id: 'import-status', class: `status-${imp.ImportStatus}`, text: imp.ImportStatus})),
      progress,
      el('div', {class: 'stats', id: 'stats'},
        stat('files imported', num(st.FilesCompleted), 'stat-files'),
        stat('events imported', num(st.EventsCompleted), 'stat-events'),
        stat(done ? 'events/s (average)' : 'events/s', isFinite(events) ? num(Math.round(events)) : '—', 'stat-rate'),
        stat(done ? 'files/s (average)' : 'files/s', isFinite(files) ? files.toFixed(1) : '—', 'stat-file-rate'),
        stat('bytes imported', size(bytes.BytesCompleted), 'stat-bytes', {bytes: bytes.BytesCompleted}),
        stat(done ? 'bytes a second (average)' : 'bytes a second', size(bytesPerSecond), 'stat-byte-rate'),
        stat('bytes left', byBytes ? size(bytes.BytesRemaining) : '—', 'stat-bytes-left', byBytes ? {bytes: bytes.BytesRemaining} : undefined),
        stat('day prefixes done', `${num(st.PrefixesCompleted)} of ${num(st.PrefixesFound)}`, 'stat-prefixes'),
        stat('time left', done ? 'ended' : duration(eta), 'stat-eta'),
        stat('failed files', num(st.FailedEntries), 'stat-failed')),
      el('h2', {text: 'Details'}),
      el('table', {class: 'details'}, el('tbody', {},
        [['Source', src.S3LocationUri], ['Region', src.S3BucketRegion], ['Role', src.S3BucketAccessRoleArn],
          ['Destinations', imp.Destinations.map((d) => names.get(d) || storeID(d)).join(', ')],
          ['Event time range', `${time(imp.StartEventTime) || 'any'} to ${time(imp.EndEventTime) || 'any'}`],
          ['Created', time(imp.CreatedTimestamp)], ['Updated', time(imp.UpdatedTimestamp)]]
          .map(([k, v]) => el('tr', {}, el('th', {text: k}), el('td', {text: v || ''}))))),
      el('p', {}, el('a', {id: 'failures-link', href: `#/imports/${encodeURIComponent(id)}/failures`, text: `Failures (${num(st.FailedEntries)})`})),
      importActions(imp, refresh));
    return !done;
  };
  await refresh();
}

async function failuresPage(pg, params, id) {
  const head = el('section');
  const list = el('section');
  view.append(el('h1', {}, 'Failures of import ', el('a', {href: `#/imports/${encodeURIComponent(id)}`, text: id})), head, list);
  const refresh = poller(pg, 2000, () => show());
  const show = async () => {
    const [imp, failures] = await Promise.all([
      call('GetImport', {ImportId: id}),
      all('ListImportFailures', {ImportId: id}, 'Failures'),
    ]);
    head.replaceChildren(
      el('p', {}, 'Status: ', el('span', {id: 'import-status', class: `status-${imp.ImportStatus}`, text: imp.ImportStatus})),
      importActions(imp, refresh));
    list.replaceChildren(failures.length === 0 ? el('p', {id: 'no-failures', class: 'muted', text: 'No file of this import failed.'}) : table('failures-table', [
      {name: 'Location', cell: (f) => f.Location},
      {name: 'ErrorType', cell: (f) => f.ErrorType},
      {name: 'ErrorMessage', cell: (f) => f.ErrorMessage},
      {name: 'Status', cell: (f) => status(f.Status)},
      {name: 'Updated', cell: (f) => time(f.LastUpdatedTime)},
    ], failures));
    return !ended(imp.ImportStatus);
  };
  await refresh();
}

// epoch reads an ISO 8601 time, or epoch seconds, as the AWS CLI does.
function epoch(text) {
  const s = text.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  if (isNaN(ms)) throw new APIError('', `${s} is not a time: write 2024-03-01, 2024-03-01T10:00:00Z or epoch seconds`);
  return ms / 1000;
}

async function startPage() {
  view.append(el('h1', {text: 'Start an import'}));
  if (!admin) {
    view.append(el('p', {class: 'muted', text: 'Your access key has the role read: it cannot start imports.'}));
    return;
  }
  const stores = (await all('ListEventDataStores', {}, 'EventDataStores')).filter((s) => s.Status === 'ENABLED');
  const input = (name, attrs = {}) => el('input', {name, id: name, spellcheck: 'false', ...attrs});
  const dest = el('select', {name: 'destination', id: 'destination', required: true},
    stores.map((s) => el('option', {value: s.EventDataStoreArn, text: `${s.Name} (${storeID(s.EventDataStoreArn)})`})));
  const form = el('form', {class: 'card', id: 'start-import'},
    el('label', {}, 'Destination event data store', dest),
    el('label', {}, 'Source URI (s3://bucket/prefix/ or file:///path)', input('uri', {required: true, placeholder: 's3://my-trail-bucket/'})),
    el('label', {}, 'Bucket region (optional)', input('region', {placeholder: 'us-east-1'})),
    el('label', {}, 'Role ARN to read the bucket as (optional)', input('role', {placeholder: 'arn:aws:iam::111122223333:role/import'})),
    el('label', {}, 'Start event time (optional)', input('startTime', {placeholder: '2024-03-01 or 2024-03-01T10:00:00Z'})),
    el('label', {}, 'End event time (optional)', input('endTime', {placeholder: '2024-03-31T23:59:59Z'})),
    el('button', {class: 'primary', type: 'submit', id: 'submit-import', text: 'Start import'}));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = form.elements;
    try {
      const req = {
        Destinations: [f.destination.value],
        ImportSource: {S3: {S3LocationUri: f.uri.value.trim(), S3BucketRegion: f.region.value.trim(), S3BucketAccessRoleArn: f.role.value.trim()}},
      };
      const start = epoch(f.startTime.value);
      const end = epoch(f.endTime.value);
      if (start !== undefined) req.StartEventTime = start;
      if (end !== undefined) req.EndEventTime = end;
      const out = await call('StartImport', req);
      location.hash = `#/imports/${encodeURIComponent(out.ImportId)}`;
    } catch (e) {
      showError(e);
    }
  });
  view.append(stores.length === 0 ? el('p', {class: 'muted', text: 'Create an event data store first.'}) : form);
}

// The last results of the query editor, kept while the console is open.
let lastResult = null;

async function queryPage(pg, params) {
  const [stores, samples] = await Promise.all([
    all('ListEventDataStores', {}, 'EventDataStores'),
    fetch('samples', {credentials: 'same-origin'}).then((r) => r.json()),
  ]);
  const store = el('select', {id: 'store'}, stores.map((s) => el('option', {value: storeID(s.EventDataStoreArn), text: `${s.Name} (${storeID(s.EventDataStoreArn)})`})));
  if (params.get('store')) store.value = params.get('store');
  const sample = el('select', {id: 'sample'}, el('option', {value: '', text: 'Example queries…'}),
    samples.map((s, i) => el('option', {value: String(i), text: s.name})));
  const statement = el('textarea', {id: 'statement', spellcheck: 'false', placeholder: 'SELECT eventName, count(*) AS n FROM <event data store ID> GROUP BY 1 ORDER BY 2 DESC'});
  if (lastResult) statement.value = lastResult.statement;
  let shownStore = store.value;
  sample.addEventListener('change', () => {
    if (sample.value === '') return;
    statement.value = samples[Number(sample.value)].statement.replaceAll(storePlaceholder, store.value || storePlaceholder);
    shownStore = store.value;
  });
  store.addEventListener('change', () => {
    if (shownStore) statement.value = statement.value.replaceAll(shownStore, store.value);
    shownStore = store.value;
  });
  const run = el('button', {id: 'run', class: 'primary', type: 'button', text: 'Run'});
  const cancel = el('button', {id: 'cancel', type: 'button', text: 'Cancel', disabled: true});
  const info = el('p', {id: 'query-info', class: 'muted'});
  const results = el('div', {id: 'results'});
  view.append(el('h1', {text: 'Query'}),
    el('section', {},
      el('div', {class: 'row'}, el('label', {}, 'Event data store ', store), el('label', {}, 'Start from ', sample)),
      statement,
      el('div', {class: 'row'}, run, cancel)),
    info, results);
  let running = null;
  cancel.addEventListener('click', async () => {
    if (!running) return;
    try {
      await call('CancelQuery', {QueryId: running});
    } catch (e) {
      showError(e);
    }
  });
  run.addEventListener('click', async () => {
    errorBox.hidden = true;
    run.disabled = true;
    results.replaceChildren();
    try {
      const text = statement.value;
      const {QueryId: id} = await call('StartQuery', {QueryStatement: text});
      running = id;
      cancel.disabled = false;
      let desc;
      for (;;) {
        desc = await call('DescribeQuery', {QueryId: id});
        info.replaceChildren('Query ', el('code', {id: 'query-id', text: id}), ' ', el('span', {id: 'query-status', class: `status-${desc.QueryStatus}`, text: desc.QueryStatus}));
        if (!['QUEUED', 'RUNNING'].includes(desc.QueryStatus)) break;
        await sleep(400);
      }
      running = null;
      cancel.disabled = true;
      if (desc.QueryStatus !== 'FINISHED') {
        if (desc.ErrorMessage) showError(new APIError('', desc.ErrorMessage));
        return;
      }
      const rows = [];
      let token;
      do {
        const out = await call('GetQueryResults', token ? {QueryId: id, MaxQueryResults: 1000, NextToken: token} : {QueryId: id, MaxQueryResults: 1000});
        rows.push(...(out.QueryResultRows || []));
        token = out.NextToken;
      } while (token);
      const qs = desc.QueryStatistics || {};
      info.append(` · ${num(rows.length)} rows · ${num(qs.EventsScanned)} events scanned · ${num(qs.ExecutionTimeInMillis)} ms`);
      lastResult = {statement: text, id, rows};
      if (pg.alive) showResults(results, lastResult);
    } catch (e) {
      showError(e);
    } finally {
      run.disabled = false;
      running = null;
      cancel.disabled = true;
    }
  });
  if (lastResult) showResults(results, lastResult);
}

// columns returns the columns of query result rows, in their order. A row
// leaves out its NULL columns, so the order is merged over the rows.
function columns(rows) {
  const cols = [];
  for (const row of rows) {
    let at = 0;
    for (const cell of row) {
      const name = Object.keys(cell)[0];
      const i = cols.indexOf(name);
      if (i < 0) {
        cols.splice(at, 0, name);
        at++;
      } else {
        at = i + 1;
      }
    }
  }
  return cols;
}

const pageSize = 50;

// showResults draws the results of a query: a chart, when they suit one,
// and a paged table, with downloads as CSV and JSON.
function showResults(box, result) {
  const cols = columns(result.rows);
  const records = result.rows.map((row) => Object.assign({}, ...row));
  if (records.length === 0) {
    box.replaceChildren(el('p', {id: 'no-rows', class: 'muted', text: 'The query returned no rows.'}));
    return;
  }
  const kinds = chartKinds(cols, records);
  const chartBox = el('div', {class: 'chart', id: 'chart'});
  const choice = el('select', {id: 'chart-kind'},
    el('option', {value: 'auto', text: `Automatic (${kinds.auto})`}),
    el('option', {value: 'time', text: 'Line over time', disabled: !kinds.time}),
    el('option', {value: 'groups', text: 'Bars of the top groups', disabled: !kinds.groups}),
    el('option', {value: 'none', text: 'No chart'}));
  choice.addEventListener('change', () => drawChart(chartBox, kinds, choice.value));
  const tableBox = el('div');
  const pager = el('div', {class: 'row'});
  let at = 0;
  const showPage = () => {
    const pageRows = records.slice(at, at + pageSize);
    tableBox.replaceChildren(table('results-table', cols.map((c) => ({name: c, cell: (r) => r[c] ?? ''})), pageRows));
    pager.replaceChildren(
      el('button', {id: 'prev-page', type: 'button', text: '‹ Previous', disabled: at === 0, onclick: () => { at -= pageSize; showPage(); }}),
      el('span', {id: 'page-info', text: `rows ${at + 1}–${at + pageRows.length} of ${records.length}`}),
      el('button', {id: 'next-page', type: 'button', text: 'Next ›', disabled: at + pageSize >= records.length, onclick: () => { at += pageSize; showPage(); }}));
  };
  const download = (kind) => () => {
    const body = kind === 'csv' ? toCSV(cols, records) : JSON.stringify(records, null, 2);
    const url = URL.createObjectURL(new Blob([body], {type: kind === 'csv' ? 'text/csv' : 'application/json'}));
    const a = el('a', {href: url, download: `query-${result.id}.${kind}`});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  };
  box.replaceChildren(
    el('div', {class: 'row'}, el('label', {}, 'Chart ', choice),
      el('button', {id: 'download-csv', type: 'button', text: 'Download CSV', onclick: download('csv')}),
      el('button', {id: 'download-json', type: 'button', text: 'Download JSON', onclick: download('json')})),
    chartBox, pager, tableBox);
  showPage();
  drawChart(chartBox, kinds, 'auto');
}

function toCSV(cols, records) {
  const quote = (v) => (/[",\r\n]/.test(v) || /^\s|\s$/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  return [cols, ...records.map((r) => cols.map((c) => r[c] ?? ''))].map((line) => line.map(quote).join(',')).join('\r\n') + '\r\n';
}

const timeLike = /^\d{4}-\d{2}-\d{2}([ T]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const numeric = (v) => v !== undefined && v.trim() !== '' && isFinite(Number(v));

// maxGroups is how many of the largest groups a bar chart shows.
const maxGroups = 20;

// chartKinds tells which charts suit results: a line over time when the
// first column holds times and another numbers (events per hour), bars of
// the top groups, named by the columns of text, when they go with one of
// numbers (the top eventNames); auto names the one chosen by default.
function chartKinds(cols, records) {
  const every = (c, test) => records.every((r) => r[c] !== undefined && test(r[c]));
  const isNumeric = (c) => every(c, numeric);
  const value = cols.slice(1).find(isNumeric) ?? cols.find(isNumeric);
  const kinds = {time: null, groups: null, auto: 'none'};
  if (value && value !== cols[0] && every(cols[0], (v) => timeLike.test(v))) {
    const sorted = [...records].sort((a, b) => (a[cols[0]] < b[cols[0]] ? -1 : 1));
    kinds.time = {label: cols[0], value, labels: sorted.map((r) => r[cols[0]]), data: sorted.map((r) => Number(r[value]))};
  }
  const labels = cols.filter((c) => c !== value && !isNumeric(c));
  if (value && labels.length > 0) {
    const top = [...records].sort((a, b) => Number(b[value]) - Number(a[value])).slice(0, maxGroups);
    kinds.groups = {label: labels.join(', '), value, labels: top.map((r) => labels.map((c) => r[c] ?? '(null)').join(' · ')), data: top.map((r) => Number(r[value]))};
  }
  kinds.auto = kinds.time ? 'time' : kinds.groups ? 'groups' : 'none';
  return kinds;
}

// drawChart draws the chart of kind (auto, time, groups or none) in box.
function drawChart(box, kinds, kind) {
  const chosen = kind === 'auto' ? kinds.auto : kind;
  const spec = kinds[chosen];
  const old = box.querySelector('canvas');
  if (old) window.Chart.getChart(old)?.destroy();
  box.replaceChildren();
  box.dataset.kind = spec ? chosen : 'none';
  box.hidden = !spec;
  if (!spec) return;
  const canvas = el('canvas', {id: 'chart-canvas'});
  box.append(canvas);
  new window.Chart(canvas, {
    type: chosen === 'time' ? 'line' : 'bar',
    data: {labels: spec.labels, datasets: [{label: spec.value, data: spec.data, borderColor: '#0972d3', backgroundColor: 'rgba(9, 114, 211, 0.6)', fill: false, tension: 0.1}]},
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: chosen === 'groups' ? 'y' : 'x',
      plugins: {title: {display: true, text: chosen === 'time' ? `${spec.value} by ${spec.label}` : `top ${spec.labels.length} ${spec.label} by ${spec.value}`}},
    },
  });
}

document.getElementById('logout').addEventListener('click', async () => {
  await fetch('logout', {method: 'POST', headers: {'X-Csrf-Token': csrf}, credentials: 'same-origin'});
  location.replace('./');
});

window.addEventListener('hashchange', route);
route();
