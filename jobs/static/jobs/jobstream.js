/* PlinthJobs.follow: follow a job live over server-sent events, polling when the
 * stream is unavailable.
 *
 *   const stop = PlinthJobs.follow(jobId, {
 *     intervalMs: 3000,              // the polling interval if it falls back (default: the job's hint)
 *     onProgress(job) {}, onComplete(job) {}, onError(job or Error) {},
 *     onMode(mode) {},               // 'stream' or 'poll'
 *   });
 *   stop();
 *
 * `job` has the fields of GET /api/jobs/{id} that the stream carries: id, status,
 * progress, status_message, partial_output (the text a streamed LLM call has
 * written so far, from `output` events), output and error (at the end).
 *
 * The stream is GET /api/jobs/{id}/events. EventSource reconnects by itself after
 * a dropped connection and resumes from the last event id; this falls back to
 * PlinthJobs.poll (jobpoll.js) when the stream never opens (blocked, a server
 * without it, 503) or fails three times in a row.
 */
(function (global) {
  'use strict';
  var PlinthJobs = global.PlinthJobs = global.PlinthJobs || {};
  var MAX_FAILURES = 3;

  function follow(jobId, options) {
    options = options || {};
    var job = { id: jobId, status: 'pending', progress: 0, status_message: '', output: null, error: '' };
    var source = null;
    var stopPolling = null;
    var stopped = false;
    var everOpened = false;
    var failures = 0;

    function mode(name) { if (options.onMode) options.onMode(name); }

    function snapshot() {
      var copy = {};
      for (var key in job) { if (Object.prototype.hasOwnProperty.call(job, key)) copy[key] = job[key]; }
      return copy;
    }

    function closeStream() { if (source) { source.close(); source = null; } }

    function stop() {
      stopped = true;
      closeStream();
      if (stopPolling) { stopPolling(); stopPolling = null; }
    }

    function onEvent(message) {
      if (stopped) return;
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      job.status = data.status;
      job.progress = data.progress;
      job.kind = data.kind;
      job.last_event_id = data.id;
      if (data.message) job.status_message = data.message;
      if ('output' in data) job.output = data.output;
      if ('partial_output' in data) job.partial_output = data.partial_output;
      if ('error' in data) { job.error = data.error; job.error_kind = data.error_kind; }
      if (options.onProgress) options.onProgress(snapshot());
      if (data.final) {
        stop();
        if (data.status === 'completed') { if (options.onComplete) options.onComplete(snapshot()); }
        else if (options.onError) options.onError(snapshot());
      }
    }

    function poll() {
      if (stopped || stopPolling) return;
      closeStream();
      mode('poll');
      stopPolling = PlinthJobs.poll(jobId, {
        intervalMs: options.intervalMs,
        onProgress: function (polled) { if (options.onProgress) options.onProgress(polled); },
        onComplete: function (polled) { stopped = true; if (options.onComplete) options.onComplete(polled); },
        onError: function (polled) { stopped = true; if (options.onError) options.onError(polled); },
      });
    }

    if (!global.EventSource || options.transport === 'poll') {
      poll();
      return stop;
    }
    source = new EventSource('/api/jobs/' + encodeURIComponent(jobId) + '/events');
    source.onopen = function () { everOpened = true; failures = 0; mode('stream'); };
    source.addEventListener('status', onEvent);
    source.addEventListener('progress', onEvent);
    source.addEventListener('output', onEvent);
    source.onerror = function () {
      if (stopped) return;
      failures += 1;
      // Never opened (blocked, 4xx/5xx, a server without streams), closed for
      // good by the browser (204, wrong type), or failing again and again: poll.
      if (!everOpened || !source || source.readyState === EventSource.CLOSED || failures >= MAX_FAILURES) {
        poll();
      }
      // Otherwise EventSource reconnects with Last-Event-ID by itself.
    };
    return stop;
  }

  PlinthJobs.follow = follow;
})(window);
