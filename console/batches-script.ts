/**
 * The Batches page's script (plain browser JavaScript, shipped inline): uploads a zip (sent as application/zip) or
 * loose images (sent as JSON, made into a batch by the console), polls the job until it finishes, then shows its
 * outcomes, exceptions and report. Record text goes into the page through textContent only.
 */
export const BATCHES_SCRIPT = String.raw`
(function () {
  'use strict';
  var CATEGORIES = JSON.parse(document.getElementById('categories').textContent);
  var selected = null;
  var polling = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, className, children) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    (children || []).forEach(function (child) { node.append(child instanceof Node ? child : document.createTextNode(String(child))); });
    return node;
  }
  function status(message, isError) { $('status').textContent = message || ''; $('status').className = isError ? 'status error' : 'status'; }
  function row(cells) { return el('tr', '', cells.map(function (cell) { return el('td', '', [cell]); })); }
  function badge(text) { return el('span', 'badge ' + text, [text]); }

  function request(method, path, body, contentType) {
    var init = { method: method, headers: { accept: 'application/json' } };
    if (body !== undefined) { init.headers['content-type'] = contentType; init.body = body; }
    return fetch(path, init).then(function (response) {
      return response.json().then(function (json) {
        if (!response.ok) { var error = new Error(json.error || ('HTTP ' + response.status)); error.code = json.code; throw error; }
        return json;
      });
    });
  }

  function progressCell(job) {
    var p = job.progress;
    if (job.state === 'QUEUED') return job.note || 'waiting for the previous batch';
    if (p.expectedAssets === undefined) return job.state === 'RUNNING' ? 'preparing…' : '';
    var meter = el('progress', '', []);
    meter.max = Math.max(1, p.expectedAssets);
    meter.value = Math.min(p.recorded, p.expectedAssets);
    return el('span', '', [meter, ' ' + p.recorded + ' / ' + p.expectedAssets + ' assets']);
  }

  function renderJobs(jobs) {
    $('jobs-card').hidden = jobs.length === 0;
    var body = $('jobs');
    body.replaceChildren();
    jobs.forEach(function (job) {
      var open = el('button', '', ['Open']);
      open.type = 'button';
      open.addEventListener('click', function () { select(job.jobId); });
      var tr = row([job.fileName, el('code', '', [job.batchId]), badge(job.state), progressCell(job), open]);
      tr.dataset.jobId = job.jobId;
      body.append(tr);
    });
    return jobs;
  }

  function refreshJobs() {
    return request('GET', '/api/batches').then(function (result) {
      renderJobs(result.jobs);
      var running = result.jobs.some(function (job) { return job.state === 'QUEUED' || job.state === 'RUNNING'; });
      if (selected) {
        var current = result.jobs.filter(function (job) { return job.jobId === selected; })[0];
        if (current && current.state !== 'QUEUED' && current.state !== 'RUNNING' && $('result').dataset.jobId !== selected + ':' + current.state) loadResult(selected);
      }
      if (running && polling === null) polling = setInterval(refreshJobs, 800);
      if (!running && polling !== null) { clearInterval(polling); polling = null; }
    }).catch(function (error) { status(error.message, true); });
  }

  function select(jobId) { selected = jobId; loadResult(jobId); }

  function loadResult(jobId) {
    return request('GET', '/api/batches/' + encodeURIComponent(jobId)).then(renderResult).catch(function (error) { status(error.message, true); });
  }

  function renderResult(result) {
    var job = result.job;
    $('result').hidden = false;
    $('result').dataset.jobId = job.jobId + ':' + job.state;
    $('result-batch').textContent = job.batchId;
    $('result-state').textContent = job.state;
    $('result-state').className = 'badge ' + job.state;
    $('result-error').textContent = job.error ? job.error.code + ': ' + job.error.message : '';
    $('result-execution').textContent = job.executionArn ? 'Execution ' + job.executionArn : '';
    var done = job.state === 'COMPLETED' && result.summary;
    $('result-body').hidden = !done;
    if (!done) return;
    var summary = result.summary;
    var counts = $('outcome-counts');
    counts.replaceChildren();
    Object.keys(summary.outcomes).forEach(function (outcome) {
      var box = el('div', '', [el('span', 'muted', [outcome]), el('strong', '', [summary.outcomes[outcome]])]);
      box.dataset.outcome = outcome;
      counts.append(box);
    });
    var report = $('report');
    report.replaceChildren();
    function fact(name, value) { report.append(el('dt', '', [name]), el('dd', '', [value])); }
    fact('Assets', summary.assets);
    fact('Sent to review', summary.sentToReview + (summary.auditSamples ? ' (' + summary.auditSamples + ' audit samples)' : ''));
    fact('Reasons', Object.keys(summary.reasons).map(function (code) { return code + ' × ' + summary.reasons[code]; }).join(', ') || 'none');
    fact('Report', summary.reports.assets);
    fact('Versions', 'pipeline ' + summary.versions.pipeline + ' · taxonomy ' + summary.versions.taxonomy + ' · policy ' + summary.versions.policy);
    $('csv-link').href = '/api/batches/' + encodeURIComponent(job.jobId) + '/csv';
    var exceptions = result.assets.filter(function (asset) { return asset.outcome !== 'AUTO_PASS'; });
    $('exceptions-count').textContent = String(exceptions.length);
    var exceptionRows = $('exceptions');
    exceptionRows.replaceChildren();
    exceptions.forEach(function (asset) {
      var reasons = el('ul', 'reasons', asset.reasons.map(function (reason) { return el('li', '', [el('code', '', [reason.code]), ' ', reason.meaning]); }));
      exceptionRows.append(row([(asset.assetId || '') + ' ' + asset.assetKey, badge(asset.outcome), reasons, asset.explanation]));
    });
    var assetRows = $('assets');
    assetRows.replaceChildren();
    result.assets.forEach(function (asset) {
      var tr = row([(asset.assetId || '') + ' ' + asset.assetKey, asset.file || '', asset.title || '', asset.declaredCategory || '', badge(asset.outcome), asset.reviewOutcome || asset.reviewStatus || '']);
      tr.dataset.assetKey = asset.assetKey;
      assetRows.append(tr);
    });
  }

  function submitted(result) {
    status('Submitted ' + result.job.fileName + ' as batch ' + result.job.batchId + '.');
    selected = result.job.jobId;
    $('result').hidden = true;
    return refreshJobs();
  }

  $('zip-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var file = $('zip-file').files[0];
    if (!file) return;
    status('Uploading ' + file.name + '…');
    request('POST', '/api/batches?name=' + encodeURIComponent(file.name), file, 'application/zip').then(submitted).catch(function (error) { status(error.message, true); });
  });

  function readBase64(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { var url = String(reader.result); resolve(url.slice(url.indexOf(',') + 1)); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsDataURL(file);
    });
  }
  $('images-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var files = Array.prototype.slice.call($('image-files').files);
    if (files.length === 0) return;
    status('Uploading ' + files.length + ' image(s)…');
    Promise.all(files.map(function (file) { return readBase64(file).then(function (base64) { return { name: file.name, base64: base64 }; }); }))
      .then(function (images) {
        return request('POST', '/api/batches/images', JSON.stringify({ merchantId: $('merchant-id').value, declaredCategory: $('declared-category').value, title: $('images-title').value || undefined, images: images }), 'application/json');
      })
      .then(submitted)
      .catch(function (error) { status(error.message, true); });
  });

  CATEGORIES.forEach(function (category) {
    var option = el('option', '', [category.name]);
    option.value = category.id;
    $('declared-category').append(option);
  });
  if (!$('unavailable').hidden) $('forms').hidden = true;
  else refreshJobs();
})();
`;
