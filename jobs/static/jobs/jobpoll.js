/* PlinthJobs: follow background jobs from a server-rendered page (no build step).
 *
 *   const stop = PlinthJobs.poll(jobId, {
 *     url: '/api/jobs/' + jobId,   // default; any endpoint answering a job as JSON with `status`
 *     intervalMs: 2000,            // a fixed interval; default: the server's hint
 *                                  // (`poll_interval_ms` or `pollIntervalMs` in the body)
 *     onProgress(job) {},          // every answer that changed (a 304 is not one)
 *     onComplete(job) {},          // status completed
 *     onError(jobOrError) {},      // failed or cancelled: the job; polling gave up: an Error
 *     onCancel(job) {},            // optional: cancelled jobs come here instead of onError
 *     maxFailures: 10,             // network errors / 5xx in a row before giving up
 *   });
 *   stop();                        // stop polling (no callback runs after it)
 *
 * Statuses may be the platform's (pending, running, completed, failed, cancelled)
 * or the report builder's (PENDING, PROCESSING, COMPLETED, FAILED, CANCELLED).
 * Each request after the first sends If-None-Match with the last ETag, so an
 * unchanged job costs a 304 with no body. The interval is the server's hint
 * for the job's type unless `intervalMs` fixes it; until the first answer it
 * is 2 s. A 429 waits its Retry-After; network errors and 5xx back off
 * (doubling, at most 30 s); any other 4xx (404: gone, 401/403: logged out)
 * stops at once with onError(Error) whose `.status` is the HTTP status.
 *
 * Also: PlinthJobs.api(method, url, body) -> Promise of the JSON body (session
 * cookie and CSRF token; rejects with an Error whose message is the server's
 * detail or field errors, with .status and .data) and PlinthJobs.isFinal(status).
 * Toasts, status words and the modal are web/static/web/ui.js's (PlinthJobs.toast).
 */
(function (global) {
  'use strict';
  var PlinthJobs = global.PlinthJobs = global.PlinthJobs || {};
  var DEFAULT_INTERVAL_MS = 2000;
  var MAX_BACKOFF_MS = 30000;

  function normal(status) { return String(status || '').toLowerCase(); }
  function isFinal(status) {
    return ['completed', 'failed', 'cancelled'].indexOf(normal(status)) >= 0;
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : '';
  }

  // A field's name as a person reads it: blockId -> "Block", company_url -> "Company url".
  function fieldWords(field) {
    var words = String(field).replace(/([a-z])([A-Z])/g, '$1 $2').replace(/_/g, ' ')
      .toLowerCase().replace(/ id$/, '');
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  // The server's words for a failed request: DRF's detail, the seed's error /
  // message, or field errors as "field: message".
  function describe(data, status) {
    if (!data || typeof data !== 'object') return 'HTTP ' + status;
    if (data.detail || data.error || data.message) return String(data.detail || data.error || data.message);
    var parts = [];
    Object.keys(data).forEach(function (field) {
      var value = data[field];
      parts.push((field === 'non_field_errors' ? '' : fieldWords(field) + ': ') + (Array.isArray(value) ? value.join(' ') : String(value)));
    });
    return parts.join('; ') || ('HTTP ' + status);
  }

  function api(method, url, body) {
    var init = { method: method, credentials: 'same-origin', headers: { 'Accept': 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (method !== 'GET') init.headers['X-CSRFToken'] = csrfToken();
    return fetch(url, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(describe(data, response.status));
          error.status = response.status;
          error.data = data;
          throw error;
        }
        return data;
      });
    });
  }

  function poll(jobId, options) {
    options = options || {};
    var url = options.url || ('/api/jobs/' + encodeURIComponent(jobId));
    var interval = options.intervalMs || DEFAULT_INTERVAL_MS;
    var maxFailures = options.maxFailures || 10;
    var etag = null;
    var stopped = false;
    var failures = 0;
    var timer = null;

    function schedule(ms) { if (!stopped) timer = setTimeout(tick, ms); }

    function giveUp(error) {
      stopped = true;
      if (options.onError) options.onError(error);
    }

    function answered(job) {
      failures = 0;
      var hint = job.poll_interval_ms || job.pollIntervalMs;
      if (!options.intervalMs && hint) interval = hint;
      if (options.onProgress) options.onProgress(job);
      var status = normal(job.status);
      if (status === 'completed') { stopped = true; if (options.onComplete) options.onComplete(job); }
      else if (status === 'cancelled' && options.onCancel) { stopped = true; options.onCancel(job); }
      else if (status === 'failed' || status === 'cancelled') giveUp(job);
      else schedule(interval);
    }

    function tick() {
      if (stopped) return;
      var headers = { 'Accept': 'application/json' };
      if (etag) headers['If-None-Match'] = etag;
      fetch(url, { credentials: 'same-origin', headers: headers, cache: 'no-store' }).then(function (response) {
        if (stopped) return;
        if (response.status === 304) { failures = 0; schedule(interval); return; }
        if (response.status === 429) {
          var wait = parseFloat(response.headers.get('Retry-After') || '');
          schedule(isNaN(wait) ? interval * 2 : wait * 1000);
          return;
        }
        if (response.status >= 400 && response.status < 500) {
          var error = new Error(response.status === 404 ? 'Job not found' : 'HTTP ' + response.status);
          error.status = response.status;
          giveUp(error);
          return;
        }
        if (!response.ok) throw new Error('HTTP ' + response.status);
        etag = response.headers.get('ETag') || etag;
        return response.json().then(function (job) { if (!stopped) answered(job); });
      }).catch(function (error) {
        if (stopped) return;
        failures += 1;
        if (failures >= maxFailures) { giveUp(error); return; }
        schedule(Math.min(interval * Math.pow(2, failures), MAX_BACKOFF_MS));
      });
    }

    tick();
    return function stop() { stopped = true; if (timer) clearTimeout(timer); };
  }

  PlinthJobs.poll = poll;
  PlinthJobs.api = api;
  PlinthJobs.csrfToken = csrfToken;
  PlinthJobs.isFinal = isFinal;
  PlinthJobs.fieldWords = fieldWords;
})(window);
