/* The jobs page: rows of active jobs update live.
 *
 * A browser opens at most 6 connections to one server over HTTP/1.1, and each
 * event stream holds one for as long as it lives: the first few active jobs are
 * streamed, the others polled, so the page never starves its own requests.
 */
(function () {
  'use strict';
  var table = document.getElementById('jobs');
  if (!table) return;
  var MAX_STREAMS = 3;
  var streams = 0;

  function render(row, job) {
    var pct = Math.max(0, Math.min(100, job.progress || 0));
    row.dataset.status = job.status;
    var badge = row.querySelector('.status');
    badge.textContent = PlinthJobs.statusLabel(job.status);
    badge.className = 'badge status ' + job.status;
    row.querySelector('.progress > div').style.width = pct + '%';
    row.querySelector('.progress').classList.toggle('indeterminate', job.status === 'pending');
    row.querySelector('.percent').textContent = pct + '%';
    var final = PlinthJobs.isFinal(job.status);
    var message = job.status === 'failed' ? (job.error || job.status_message) : PlinthJobs.progressText({
      status: job.status, status_message: job.status_message,
      // The place in line was measured when the page was drawn; it only shrinks after.
      queue_place: job.status === 'pending' ? parseInt(row.dataset.queuePlace, 10) || null : null,
      cancelling: row.dataset.cancelling === 'true' && !final,
    });
    if (message) row.querySelector('.message').textContent = message;
    if (['completed', 'failed', 'cancelled'].indexOf(job.status) >= 0) {
      var cancel = row.querySelector('.cancel');
      if (cancel) cancel.remove();
    }
  }

  table.querySelectorAll('tr.job').forEach(function (row) {
    var status = row.dataset.status;
    if (status !== 'pending' && status !== 'running') return;
    var jobId = row.dataset.jobId;
    var handlers = {
      intervalMs: parseInt(row.dataset.pollMs, 10) || undefined,
      onMode: function (mode) { row.dataset.mode = mode; },
      onProgress: function (job) { render(row, job); },
      onComplete: function (job) { render(row, job); },
      onError: function (job) { if (!(job instanceof Error)) render(row, job); },
    };
    if (streams < MAX_STREAMS) {
      streams += 1;
      PlinthJobs.follow(jobId, handlers);
    } else {
      handlers.transport = 'poll';
      PlinthJobs.follow(jobId, handlers);
    }
  });

  table.addEventListener('click', function (event) {
    var button = event.target.closest('.cancel');
    if (!button) return;
    var row = button.closest('tr.job');
    button.disabled = true;
    row.dataset.cancelling = 'true';
    PlinthJobs.api('DELETE', '/api/jobs/' + row.dataset.jobId).then(function (job) {
      render(row, job);
    }).catch(function (error) {
      button.disabled = false;
      row.dataset.cancelling = 'false';
      PlinthJobs.toast('Could not cancel', error.message, 'error');
    });
  });
})();
