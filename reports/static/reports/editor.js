/* The report editor: start GENERATE / REFINE / ANALYZE jobs on a prompt block and
 * follow them with PlinthJobs.poll (jobs/static/jobs/jobpoll.js), at the
 * interval the job's type asks for. A job already running when the page loads
 * (a reload, another tab) is followed too. */
(function () {
  'use strict';
  var root = document.getElementById('blocks');
  if (!root) return;
  var documentId = root.dataset.documentId;
  var base = '/api/report-builder';
  var BUSY_LABELS = { GENERATE: 'Generating…', REFINE: 'Refining…', ANALYZE: 'Analyzing…' };
  var REVISION_WORDS = { GENERATE: 'Generated', REFINE: 'Refined', ANALYZE: 'Analyzed' };
  var STARTED = {
    GENERATE: ['Generating', 'AI is working on your response...'],
    REFINE: ['Refining', 'AI is refining the text...'],
    ANALYZE: ['Analyzing', 'AI is analyzing the material...'],
  };

  function blockUrl(section) {
    return base + '/documents/' + documentId + '/blocks/' + section.dataset.blockId;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderRevisions(section, revisions) {
    var list = section.querySelector('.revisions');
    list.innerHTML = '';
    revisions.forEach(function (revision) {
      var li = el('li', 'revision');
      if (revision.jobId) li.dataset.jobId = revision.jobId;
      var when = new Date(revision.createdAt).toLocaleString(undefined, {
        day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
      var who = revision.jobId
        ? (REVISION_WORDS[revision.jobType] || 'Written') + ' by job ' + revision.jobId.slice(0, 8)
        : revision.source.charAt(0).toUpperCase() + revision.source.slice(1) + ' edit';
      li.appendChild(el('span', 'muted', when + ' · ' + who));
      var text = revision.content.length > 300 ? revision.content.slice(0, 299) + '…' : revision.content;
      li.appendChild(el('div', 'revision-content', text));
      list.appendChild(li);
    });
    section.querySelector('.revision-count').textContent = revisions.length;
  }

  // A model's Markdown as HTML: shown as text at once, then as the server's rendering
  // (markdown-it-py + nh3: sanitized there, so it may go in as HTML here).
  function showMarkdown(node, text, offlineNote) {
    node.textContent = text;
    return PlinthJobs.api('POST', '/api/markdown', { text: text }).then(function (rendered) {
      node.innerHTML = rendered.html;
      if (offlineNote) offlineNote.hidden = !rendered.offline;
    });
  }

  // The block as the server has it now: its content and revision history.
  function refreshBlock(section) {
    var url = blockUrl(section);
    return Promise.all([PlinthJobs.api('GET', url), PlinthJobs.api('GET', url + '/revisions')])
      .then(function (results) {
        renderRevisions(section, results[1]);
        return showMarkdown(section.querySelector('.content'), results[0].content,
                            section.querySelector('.offline-note'));
      });
  }

  function setStatus(section, text, isError) {
    var status = section.querySelector('.status');
    status.textContent = text;
    status.classList.toggle('error', !!isError);
  }

  function setBusy(section, type) {
    var busy = !!type;
    section.classList.toggle('busy', busy);
    section.querySelectorAll('button[data-type]').forEach(function (button) {
      var label = button.querySelector('.label');
      if (!button.dataset.idleLabel) button.dataset.idleLabel = label.textContent;
      button.disabled = busy;
      var spinner = button.querySelector('.spinner');
      if (spinner) spinner.remove();
      label.textContent = button.dataset.idleLabel;
      if (busy && button.dataset.type === type) {
        var s = el('span', 'spinner');
        s.setAttribute('aria-hidden', 'true');
        button.insertBefore(s, label);
        label.textContent = ' ' + BUSY_LABELS[type];
      }
    });
    if (!busy) {
      section.querySelector('.generate').disabled = !section.querySelector('.prompt').value.trim();
      delete section.dataset.jobId;
    }
    section.querySelector('.cancel').hidden = !busy;
    section.querySelector('.cancel').disabled = false;
    section.querySelector('.progress').hidden = !busy;
    if (busy) section.querySelector('.progress > div').style.width = '0%';
    if (!busy) delete section.dataset.cancelling;
  }

  // One poll answer on the page: the status line in words and the bar. (Streamed partial
  // text, when the payload carries it, belongs here too: one place that draws progress.)
  function showProgress(section, job) {
    var status = String(job.status || '').toLowerCase();
    setStatus(section, PlinthJobs.progressText({
      status: status, statusMessage: job.statusMessage,
      cancelling: section.dataset.cancelling === 'true' && !PlinthJobs.isFinal(status),
    }, PlinthJobs.statusLabel(status)));
    var bar = section.querySelector('.progress');
    bar.classList.toggle('indeterminate', status === 'pending');
    bar.querySelector('div').style.width = (job.progress || 0) + '%';
  }

  function follow(section, jobId, type) {
    section.dataset.jobId = jobId;
    setBusy(section, type);
    // No intervalMs: the poller takes the type's interval from each answer (pollIntervalMs).
    PlinthJobs.poll(jobId, {
      url: base + '/jobs/' + jobId,
      onProgress: function (job) { showProgress(section, job); },
      onComplete: function (job) {
        if (type === 'ANALYZE') {
          var panel = section.querySelector('.analysis');
          panel.hidden = false;
          showMarkdown(panel.querySelector('.analysis-text'), job.result ? job.result.content : '')
            .catch(function () {});  // the text is shown already
          setBusy(section, null);
          setStatus(section, 'Done');
          return;
        }
        // The spinner stays until the new content and revision are on the page.
        refreshBlock(section).then(function () {
          setBusy(section, null);
          setStatus(section, 'Done');
        }).catch(function (error) {
          setBusy(section, null);
          setStatus(section, 'Done; reload to see the new content');
          PlinthJobs.toast('Error', 'Could not reload the block: ' + error.message, 'error');
        });
      },
      onCancel: function () {
        setBusy(section, null);
        setStatus(section, 'Cancelled');
        PlinthJobs.toast('Cancelled', 'The job was cancelled; the block is unchanged.', 'cancelled');
      },
      onError: function (jobOrError) {
        setBusy(section, null);
        var message = jobOrError instanceof Error ? jobOrError.message : (jobOrError.error || 'The job failed');
        setStatus(section, 'Failed: ' + message, true);
        PlinthJobs.toast('Error', message, 'error');
      },
    });
  }

  function start(section, type, prompt) {
    var body = { documentId: documentId, blockId: section.dataset.blockId, type: type };
    if (prompt) body.prompt = prompt;
    setBusy(section, type);
    setStatus(section, 'Starting…');
    section.querySelector('.progress').classList.add('indeterminate');
    PlinthJobs.api('POST', base + '/jobs', body).then(function (created) {
      PlinthJobs.toast(STARTED[type][0], STARTED[type][1], 'info');
      follow(section, created.jobId, type);
    }).catch(function (error) {
      setBusy(section, null);
      setStatus(section, '');
      PlinthJobs.toast('Error', error.message || 'Failed to start generation', 'error');
    });
  }

  root.querySelectorAll('section.block[data-kind="PROMPT_RESPONSE"]').forEach(function (section) {
    var promptBox = section.querySelector('.prompt');
    var feedback = section.querySelector('.feedback');
    promptBox.addEventListener('input', function () {
      if (!section.dataset.jobId) section.querySelector('.generate').disabled = !promptBox.value.trim();
    });
    promptBox.addEventListener('change', function () {
      PlinthJobs.api('PATCH', blockUrl(section), { prompt: promptBox.value }).catch(function (error) {
        PlinthJobs.toast('Error', 'The prompt was not saved: ' + error.message, 'error');
      });
    });
    section.querySelector('.generate').addEventListener('click', function () {
      start(section, 'GENERATE', promptBox.value.trim());
    });
    section.querySelector('.refine').addEventListener('click', function () {
      if (!feedback.value.trim()) {
        feedback.focus();
        PlinthJobs.toast('Refine', 'Write how the text should change first.', 'info');
        return;
      }
      start(section, 'REFINE', feedback.value.trim());
    });
    section.querySelector('.analyze').addEventListener('click', function () {
      start(section, 'ANALYZE', promptBox.value.trim() || 'Summarise the evidence.');
    });
    section.querySelector('.cancel').addEventListener('click', function (event) {
      if (!section.dataset.jobId) return;
      var button = event.currentTarget;
      button.disabled = true;
      section.dataset.cancelling = 'true';
      // The poller sees CANCELLED next (a running job stops at its next check): say so.
      setStatus(section, PlinthJobs.progressText({ cancelling: true }));
      PlinthJobs.api('DELETE', base + '/jobs/' + section.dataset.jobId).catch(function (error) {
        button.disabled = false;
        section.dataset.cancelling = 'false';
        PlinthJobs.toast('Error', error.message, 'error');
      });
    });
    if (section.dataset.activeJobId) {
      follow(section, section.dataset.activeJobId, section.dataset.activeJobType || 'GENERATE');
    }
  });
})();
