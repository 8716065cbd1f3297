/* The decision page: start each job type and show it the seed's way.
 *
 * - competitor_analysis, option_analysis: the job progress modal (title, bar with
 *   percentage, status message, Cancel, "This usually takes ..."); "Run in
 *   background" turns it into a toast.
 * - market_research, evidence_search: in the background, with toasts
 *   ("... started / We'll notify you when it's ready", then "... ready" + View).
 * - brief_generation: inline progress under its button, and the brief's text as the
 *   model writes it (the job's partial output, streamed) until the brief is saved.
 * Every job is followed with PlinthJobs.follow (server-sent events, polling as
 * a fallback). When one completes, the page's section is re-read from the server.
 */
(function () {
  'use strict';
  var root = document.getElementById('decision');
  if (!root) return;
  var decisionId = root.dataset.decisionId;
  var types = JSON.parse(document.getElementById('job-types').textContent);
  var modal = document.getElementById('job-modal');
  var modalJob = null;  // {id, type, stop, cancelling}
  // Escape works as "Run in background": the job goes on, a toast says when it is done.
  var modalDialog = PlinthJobs.dialog(modal, { onEscape: function () { runInBackground(); } });

  // --- toasts: PlinthJobs.toast (web/static/web/ui.js); a job's later toast replaces
  // its "started" one (same jobId) ----------------------------------------------------

  function toast(title, message, options) {
    options = options || {};
    return PlinthJobs.toast(title, message, options.kind || 'info', options);
  }

  function errorMessage(job) {
    if (job instanceof Error) return job.message;
    if (job.status === 'cancelled') return 'The job was cancelled.';
    return job.error || job.status_message || ('Job ' + job.status);
  }

  // --- refreshing a section from the server ------------------------------------------

  function refresh(selectors) {
    return fetch(window.location.pathname, { credentials: 'same-origin' })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html');
        selectors.forEach(function (selector) {
          var current = document.querySelector(selector);
          var next = fresh.querySelector(selector);
          if (current && next) current.innerHTML = next.innerHTML;
        });
      });
  }

  // --- what each type says when it is done --------------------------------------------

  var done = {
    competitor_analysis: function (job) {
      var out = job.output || {};
      return { title: 'Competitor profile ready', message: (out.company_name || 'The company') + ' has been analyzed.',
               href: '/decisions/' + decisionId + '/competitors/' + out.competitor_profile_id, sections: ['#competitor-list'] };
    },
    option_analysis: function (job) {
      var out = job.output || {};
      var analysis = out.analysis || {};
      return { title: 'Option analysis ready', message: (out.option_title || 'The option') + ': score ' + analysis.score + '/10 (' + analysis.recommendation + ').',
               href: '#option-' + out.option_id, sections: ['#option-list'] };
    },
    market_research: function (job) {
      var out = job.output || {};
      return { title: 'Market research ready', message: (out.evidence_count || 0) + ' evidence item(s) added.',
               href: '#research-' + out.market_research_id, sections: ['#research-list'] };
    },
    evidence_search: function (job) {
      var out = job.output || {};
      return { title: 'Evidence search finished', message: (out.evidence_count || 0) + ' evidence item(s) found.',
               href: '#evidence', sections: ['#evidence-list'] };
    },
    brief_generation: function (job) {
      var out = job.output || {};
      return { title: 'Brief ready', message: (out.title || 'The brief') + ' is written.', href: '#brief', sections: ['#brief-output'] };
    },
  };

  function finished(type, job) {
    var info = done[type](job);
    return refresh(info.sections).then(function () {
      toast(info.title, info.message, { kind: 'success', href: info.href, jobId: job.id });
    });
  }

  function failed(type, job) {
    var cancelled = job.status === 'cancelled';
    toast(cancelled ? types[type].title + ' cancelled' : types[type].title + ' failed', errorMessage(job),
          { kind: cancelled ? 'cancelled' : 'error', jobId: job.id });
  }

  // --- starting a job ----------------------------------------------------------------

  function start(type, input) {
    return PlinthJobs.api('POST', '/api/jobs', { type: type, decision_id: decisionId, input: input })
      .catch(function (error) {
        var message = error.message;
        if (error.data && error.data.input) message = describeFields(error.data.input);
        toast('Could not start ' + types[type].title.toLowerCase(), message, { kind: 'error' });
        throw error;
      });
  }

  // Field errors as sentences ("company_url: Enter a valid URL." -> "Company url: ...").
  function describeFields(fields) {
    if (typeof fields !== 'object' || fields === null) return String(fields);
    return Object.keys(fields).map(function (name) {
      var value = fields[name];
      return PlinthJobs.fieldWords(name) + ': ' + (Array.isArray(value) ? value.join(' ') : String(value));
    }).join(' ');
  }

  function follow(type, jobId, handlers) {
    return PlinthJobs.follow(jobId, {
      intervalMs: types[type].poll_interval_ms,
      onMode: handlers.onMode,
      onProgress: handlers.onProgress,
      onComplete: function (job) { if (handlers.onComplete) handlers.onComplete(job); finished(type, job); },
      onError: function (job) { if (handlers.onError) handlers.onError(job); failed(type, job); },
    });
  }

  function inBackground(type, jobId, announce) {
    if (announce) {
      toast(types[type].title + ' started', "We'll notify you when it's ready.",
            { href: '/jobs/#job-' + jobId, jobId: jobId, icon: 'clock' });
    }
    follow(type, jobId, {});
  }

  // --- the job progress modal ----------------------------------------------------------

  function setModal(job) {
    var pct = Math.max(0, Math.min(100, job.progress || 0));
    modal.querySelector('.bar').style.width = pct + '%';
    modal.querySelector('.progress').setAttribute('aria-valuenow', String(pct));
    modal.querySelector('.percent').textContent = pct + '%';
    modal.querySelector('.progress').classList.toggle('indeterminate', job.status === 'pending');
    var cancelling = modalJob && modalJob.cancelling && !PlinthJobs.isFinal(job.status || '');
    var text = PlinthJobs.progressText({ status: job.status, status_message: job.status_message,
                                         queue_place: job.queue_place, cancelling: cancelling });
    if (text) modal.querySelector('.message').textContent = text;
  }

  function closeModal() {
    modalDialog.close();
    modalJob = null;
  }

  function openModal(type, jobId) {
    var info = types[type];
    modal.querySelector('.icon-use').setAttribute('href', '#i-' + (info.icon || 'sparkle'));
    modal.querySelector('.title').textContent = info.modal_title;
    modal.querySelector('.typical').textContent = info.typical_duration;
    modal.querySelector('.message').textContent = 'Starting...';
    modal.querySelector('.mode').textContent = '';
    modal.querySelector('.cancel').disabled = false;
    modal.dataset.jobId = jobId;
    modalJob = { id: jobId, type: type };
    setModal({ progress: 0, status: 'pending' });
    modalDialog.open();
    modalJob.stop = follow(type, jobId, {
      onMode: function (mode) {
        modal.dataset.mode = mode;
        modal.querySelector('.mode').textContent = mode === 'stream' ? 'Live updates' : 'Checking every few seconds';
      },
      onProgress: function (job) { if (modalJob && modalJob.id === jobId) setModal(job); },
      onComplete: function () { if (modalJob && modalJob.id === jobId) closeModal(); },
      onError: function () { if (modalJob && modalJob.id === jobId) closeModal(); },
    });
  }

  modal.querySelector('.cancel').addEventListener('click', function () {
    if (!modalJob) return;
    var button = this;
    button.disabled = true;
    modalJob.cancelling = true;
    // A running job stops at its next check (between steps), not at once: say so.
    modal.querySelector('.message').textContent = PlinthJobs.progressText({ cancelling: true });
    var job = modalJob;
    PlinthJobs.api('DELETE', '/api/jobs/' + job.id).catch(function (error) {
      button.disabled = false;
      job.cancelling = false;
      toast('Could not cancel', error.message, { kind: 'error' });
    });
  });

  function runInBackground() {
    if (!modalJob) return;
    var job = modalJob;
    closeModal();  // the follow goes on; its completion shows the toast
    toast(types[job.type].title + ' started', "We'll notify you when it's ready.",
          { href: '/jobs/#job-' + job.id, jobId: job.id, icon: 'clock' });
  }

  modal.querySelector('.background').addEventListener('click', runInBackground);

  // --- inline progress (brief generation) ------------------------------------------------

  var briefButton = document.getElementById('generate-brief');
  var inline = document.querySelector('#brief .inline-progress');
  var briefJob = null;

  function setInline(job) {
    var pct = Math.max(0, Math.min(100, job.progress || 0));
    inline.querySelector('.percent').textContent = pct + '%';
    inline.querySelector('.progress > div').style.width = pct + '%';
    inline.querySelector('.progress').classList.toggle('indeterminate', job.status === 'pending');
    // The place in line comes with the page (active jobs); the stream does not carry it.
    if (job.queue_place) inline.dataset.queuePlace = job.queue_place;
    var text = PlinthJobs.progressText({ status: job.status, status_message: job.status_message,
                                         queue_place: parseInt(inline.dataset.queuePlace, 10) || null, cancelling: inline.dataset.cancelling === 'true' && !PlinthJobs.isFinal(job.status || '') });
    if (text) inline.querySelector('.message').textContent = text;
    showPartial(job.partial_output || '');
  }

  // The model writes the brief as JSON ({title, summary, sections: [{heading, body}],
  // recommendation}); while it writes, the reader sees its words, not its braces: each
  // string value written so far (the last one may still be growing), one per line.
  var BRIEF_STRING = /"(?:title|summary|heading|body|recommendation)"\s*:\s*"((?:[^"\\]|\\.)*)/g;

  function readable(text) {
    var parts = [];
    var match;
    BRIEF_STRING.lastIndex = 0;
    while ((match = BRIEF_STRING.exec(text)) !== null) {
      var value = match[1].replace(/\\$/, '');
      try { value = JSON.parse('"' + value + '"'); } catch (e) { /* a half-written escape */ }
      if (value) parts.push(value);
    }
    return parts.length ? parts.join('\n\n') : (text.trim().charAt(0) === '{' ? '' : text);
  }

  function showPartial(text) {
    var partial = inline.querySelector('.partial-output');
    var shown = text ? readable(text) : '';
    if (!shown) {
      partial.hidden = true;
      partial.textContent = '';
      return;
    }
    partial.hidden = false;
    partial.textContent = shown;
  }

  function followBrief(jobId, known) {
    briefJob = jobId;
    briefButton.disabled = true;
    inline.hidden = false;
    inline.dataset.jobId = jobId;
    inline.dataset.cancelling = 'false';
    delete inline.dataset.queuePlace;
    inline.querySelector('.cancel').disabled = false;
    setInline(known || { progress: 0, status: 'pending' });
    var end = function () { briefButton.disabled = false; inline.hidden = true; briefJob = null; showPartial(''); };
    follow('brief_generation', jobId, {
      onMode: function (mode) { inline.dataset.mode = mode; },
      onProgress: setInline,
      onComplete: end,
      onError: end,
    });
  }

  briefButton.addEventListener('click', function () {
    start('brief_generation', {}).then(function (created) { followBrief(created.id); }, function () {});
  });
  inline.querySelector('.cancel').addEventListener('click', function () {
    if (!briefJob) return;
    var button = this;
    button.disabled = true;
    inline.dataset.cancelling = 'true';
    inline.querySelector('.message').textContent = PlinthJobs.progressText({ cancelling: true });
    PlinthJobs.api('DELETE', '/api/jobs/' + briefJob).catch(function (error) {
      button.disabled = false;
      inline.dataset.cancelling = 'false';
      toast('Could not cancel', error.message, { kind: 'error' });
    });
  });

  // --- forms and buttons ---------------------------------------------------------------

  document.getElementById('competitor-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var form = event.target;
    var input = { company_name: form.company_name.value.trim(), company_url: form.company_url.value.trim() };
    start('competitor_analysis', input).then(function (created) {
      form.reset();
      openModal('competitor_analysis', created.id);
    }, function () {});
  });

  document.getElementById('option-list').addEventListener('click', function (event) {
    var button = event.target.closest('.analyze-option');
    if (!button) return;
    var optionId = button.closest('.option').dataset.optionId;
    start('option_analysis', { option_id: optionId }).then(function (created) {
      openModal('option_analysis', created.id);
    }, function () {});
  });

  document.getElementById('option-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var form = event.target;
    PlinthJobs.api('POST', '/api/decisions/' + decisionId + '/options',
                   { title: form.title.value.trim(), description: form.description.value.trim() })
      .then(function () { form.reset(); return refresh(['#option-list']); })
      .catch(function (error) { toast('Could not add the option', error.message, { kind: 'error' }); });
  });

  document.getElementById('research-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var form = event.target;
    start('market_research', { query: form.query.value.trim() }).then(function (created) {
      form.reset();
      inBackground('market_research', created.id, true);
    }, function () {});
  });

  document.getElementById('evidence-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var form = event.target;
    start('evidence_search', { query: form.query.value.trim() }).then(function (created) {
      form.reset();
      inBackground('evidence_search', created.id, true);
    }, function () {});
  });

  // --- jobs still running when the page was (re)loaded ----------------------------------

  JSON.parse(document.getElementById('active-jobs').textContent).forEach(function (job) {
    if (!types[job.type]) return;
    if (job.type === 'brief_generation') followBrief(job.id, job);
    else inBackground(job.type, job.id, false);
  });
})();
