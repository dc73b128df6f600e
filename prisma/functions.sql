-- Triggers and functions, applied by `npm run migrate` after the migrations, every time (this
-- file is idempotent). They live outside prisma/migrations because the WebAssembly schema engine
-- splits migration scripts at every semicolon, which breaks function bodies.

-- The timeline is append-only: nobody rewrites what happened.
-- The one exception: the retention job (src/jobs/retention.ts) deletes history past
-- RETENTION_PERIOD inside transactions that set trs_sync.retention. Nothing ever updates a row.
CREATE OR REPLACE FUNCTION sync_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('trs_sync.retention', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'sync_events is append-only: the timeline is never rewritten (only the retention job deletes old history)';
END
$$;
DROP TRIGGER IF EXISTS sync_events_append_only ON "sync_events";
CREATE TRIGGER sync_events_append_only BEFORE UPDATE OR DELETE ON "sync_events"
  FOR EACH ROW EXECUTE FUNCTION sync_events_append_only();

-- TRUNCATE fires no row trigger, so the append-only tables refuse it with a statement trigger of
-- their own. Nothing in trs-sync truncates: the retention job deletes row by row, and the tests
-- drop their databases. (TRUNCATE ... CASCADE from trainees reaches these tables and is refused too.)
CREATE OR REPLACE FUNCTION trs_sync_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: it is never truncated', TG_TABLE_NAME;
END
$$;
DROP TRIGGER IF EXISTS sync_events_no_truncate ON "sync_events";
CREATE TRIGGER sync_events_no_truncate BEFORE TRUNCATE ON "sync_events"
  FOR EACH STATEMENT EXECUTE FUNCTION trs_sync_refuse_truncate();

-- Wake the outbox dispatchers (LISTEN trs_sync_dispatch) when work appears or changes state.
-- NOTIFY is delivered at commit and folded within a transaction, so this costs one message.
CREATE OR REPLACE FUNCTION trs_sync_notify_dispatch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('trs_sync_dispatch', TG_TABLE_NAME);
  RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS sync_tasks_notify ON "sync_tasks";
CREATE TRIGGER sync_tasks_notify AFTER INSERT OR UPDATE OF state, available_at ON "sync_tasks"
  FOR EACH STATEMENT EXECUTE FUNCTION trs_sync_notify_dispatch();
DROP TRIGGER IF EXISTS alerts_notify ON "alerts";
CREATE TRIGGER alerts_notify AFTER INSERT OR UPDATE OF state ON "alerts"
  FOR EACH STATEMENT EXECUTE FUNCTION trs_sync_notify_dispatch();

-- The sync state the upstream API answers with (src/web/upstream-api.ts): the trainee's tasks
-- still in line, in line order (phase, id), and its last timeline event. Ids as text (bigint).
CREATE OR REPLACE FUNCTION trs_sync_trainee_sync(p_trainee uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'tasks', (SELECT coalesce(jsonb_agg(to_jsonb(s) || jsonb_build_object('id', s.id::text) ORDER BY s.phase, s.id), '[]'::jsonb)
              FROM sync_tasks s
              WHERE s.trainee_id = p_trainee AND s.state IN ('pending', 'queued', 'running', 'failed')),
    'lastEvent', (SELECT to_jsonb(e) || jsonb_build_object('id', e.id::text, 'task_id', e.task_id::text)
                  FROM sync_events e WHERE e.trainee_id = p_trainee ORDER BY e.id DESC LIMIT 1))
$$;

-- A PUT of a trainee document in one statement (src/trainees/create-trainee.ts), for the two cases
-- that need no decision against the stored row: a new trainee (its row, TRN request, outbox rows and
-- timeline event, all decided in TypeScript and passed in) and a document identical to the stored
-- one. The trainee row lock comes first, as in accept-document.ts. A slug created meanwhile by a
-- concurrent PUT: the insert waits for that PUT's commit, then this reads the row it wrote, as the
-- general path's retry does. Anything else answers 'changed' (the row exists and differs) or
-- 'absent' (no row, and the document cannot create one): the caller takes the general path.
-- Timestamps are UTC (the columns are timestamp without time zone, as Prisma writes them).
CREATE OR REPLACE FUNCTION trs_sync_accept_document(
  p_slug text, p_hash text, p_trainee jsonb, p_request jsonb, p_tasks jsonb, p_event jsonb, p_trace text, p_clock timestamp(3)
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_trainee trainees;
  v_request uuid;
  v_task jsonb;
  v_created boolean := false;
BEGIN
  SELECT * INTO v_trainee FROM trainees WHERE slug = p_slug FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    IF p_trainee IS NULL THEN
      RETURN jsonb_build_object('outcome', 'absent');
    END IF;
    INSERT INTO trainees
      SELECT * FROM jsonb_populate_record(NULL::trainees, p_trainee || jsonb_build_object(
        'id', gen_random_uuid(), 'slug', p_slug, 'document_hash', p_hash, 'created_at', p_clock, 'updated_at', p_clock))
      ON CONFLICT (slug) DO NOTHING
      RETURNING * INTO v_trainee;
    v_created := FOUND;
    IF NOT v_created THEN
      SELECT * INTO v_trainee FROM trainees WHERE slug = p_slug FOR NO KEY UPDATE;
    END IF;
  END IF;
  IF NOT v_created THEN
    IF v_trainee.document_hash IS DISTINCT FROM p_hash THEN
      RETURN jsonb_build_object('outcome', 'changed');
    END IF;
    RETURN jsonb_build_object('outcome', 'unchanged', 'trainee', to_jsonb(v_trainee)) || trs_sync_trainee_sync(v_trainee.id);
  END IF;

  IF p_request IS NOT NULL THEN
    INSERT INTO trn_requests (id, trainee_id, request_id, active_trainee_id, state, submitted_at, deadline_at, created_at, updated_at)
    VALUES (gen_random_uuid(), v_trainee.id, p_request->>'requestId', v_trainee.id, 'requested',
            (p_request->>'submittedAt')::timestamp(3), (p_request->>'deadlineAt')::timestamp(3), p_clock, p_clock)
    RETURNING id INTO v_request;
  END IF;
  -- one at a time, in the order given: ids follow the order the general path creates them in
  FOR v_task IN SELECT value FROM jsonb_array_elements(p_tasks) WITH ORDINALITY ORDER BY ordinality LOOP
    INSERT INTO sync_tasks (trainee_id, kind, phase, trn_request_id, trace_context, available_at, created_at, updated_at)
    VALUES (v_trainee.id, (v_task->>'kind')::"SyncTaskKind", (v_task->>'phase')::int,
            CASE WHEN v_task->>'kind' = 'register_for_trn' THEN v_request END,
            p_trace, (v_task->>'availableAt')::timestamp(3), p_clock, p_clock);
  END LOOP;
  INSERT INTO sync_events (trainee_id, kind, outcome, message, details, created_at)
  VALUES (v_trainee.id, p_event->>'kind', p_event->>'outcome', p_event->>'message', p_event->'details', (p_event->>'at')::timestamp(3));
  RETURN jsonb_build_object('outcome', 'created', 'trainee', to_jsonb(v_trainee)) || trs_sync_trainee_sync(v_trainee.id);
END
$$;

-- A sync task moves only along the table in src/trainees/sync-tasks.ts (taskTransitions); a test
-- checks that this list and that table agree. Whoever writes, a move outside it is refused.
CREATE OR REPLACE FUNCTION sync_tasks_transition_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state IS DISTINCT FROM OLD.state AND NOT ((OLD.state::text || '>' || NEW.state::text) = ANY (ARRAY[
    'pending>queued', 'pending>running', 'pending>cancelled',
    'queued>running', 'queued>pending', 'queued>failed', 'queued>cancelled',
    'running>succeeded', 'running>queued', 'running>failed', 'running>pending', 'running>cancelled',
    'failed>pending', 'failed>running', 'failed>cancelled'
  ])) THEN
    RAISE EXCEPTION 'sync task % cannot move from % to %', OLD.id, OLD.state, NEW.state USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS sync_tasks_transition_guard ON "sync_tasks";
CREATE TRIGGER sync_tasks_transition_guard BEFORE UPDATE OF state ON "sync_tasks"
  FOR EACH ROW EXECUTE FUNCTION sync_tasks_transition_guard();

-- The audit log of support actions is never rewritten either.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: support actions are never rewritten';
END
$$;
DROP TRIGGER IF EXISTS audit_log_append_only ON "audit_log";
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON "audit_log"
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON "audit_log";
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON "audit_log"
  FOR EACH STATEMENT EXECUTE FUNCTION trs_sync_refuse_truncate();

-- A failed task always says when it failed: the failed-jobs page sorts and pages on it.
CREATE OR REPLACE FUNCTION sync_tasks_failed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state = 'failed' AND NEW.failed_at IS NULL THEN
    NEW.failed_at := now();
  END IF;
  RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS sync_tasks_failed_at ON "sync_tasks";
CREATE TRIGGER sync_tasks_failed_at BEFORE INSERT OR UPDATE OF state ON "sync_tasks"
  FOR EACH ROW EXECUTE FUNCTION sync_tasks_failed_at();

-- Storing a TRN the API allocated, in one statement (src/trainees/receive-trn.ts, storeTrn): a
-- poll's answer, the register job's own and a TRS webhook all settle through it. The rules, in
-- order: the trainee row lock first (FOR NO KEY UPDATE, as every decision about the trainee's line);
-- a trainee holding another TRN is a conflict; the same answer stored before changes nothing; a
-- trainee waiting for the TRN moves to trn_received (a deferred or withdrawn one keeps its state);
-- the request is received, any other request still open for the trainee is closed as received;
-- the event 'trn_received'; an update_trainee task behind, unless one has not started yet (it
-- reads the trainee when it runs) or the trainee's state sends nothing. A TRN another trainee holds
-- (the unique trainees.trn) rolls everything back and answers 'taken'. Timestamps are UTC wall
-- times, as Prisma writes them; updated_at is the clock's, as Prisma's @updatedAt.
-- Answers: stored | unchanged | missing (no such trainee) | request_missing | conflict (the trainee
-- has held_trn) | taken.
CREATE OR REPLACE FUNCTION trs_sync_store_trn(
  p_trainee uuid, p_request uuid, p_trn text, p_response jsonb, p_message text,
  p_job_name text, p_job_id text, p_task_id bigint, p_now timestamp, p_update_phase integer, p_trace_context text,
  OUT outcome text, OUT held_trn text
) LANGUAGE plpgsql AS $$
DECLARE
  v_trainee trainees%ROWTYPE;
  v_request trn_requests%ROWTYPE;
  v_state "TraineeState";
  v_clock timestamp := now() AT TIME ZONE 'UTC';
BEGIN
  SELECT * INTO v_trainee FROM trainees WHERE id = p_trainee FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    outcome := 'missing';
    RETURN;
  END IF;
  held_trn := v_trainee.trn;
  IF v_trainee.trn IS NOT NULL AND v_trainee.trn <> p_trn THEN
    outcome := 'conflict';
    RETURN;
  END IF;
  SELECT * INTO v_request FROM trn_requests WHERE id = p_request;
  IF NOT FOUND THEN
    outcome := 'request_missing';
    RETURN;
  END IF;
  -- idempotent: a poll and a check-now (or a webhook) both asked
  IF v_trainee.trn = p_trn AND v_request.state = 'received' AND v_request.trn = p_trn THEN
    outcome := 'unchanged';
    RETURN;
  END IF;
  v_state := CASE WHEN v_trainee.state = 'submitted_for_trn' THEN 'trn_received'::"TraineeState" ELSE v_trainee.state END;
  BEGIN
    UPDATE trainees
       SET trn = p_trn, state = v_state,
           trn_received_at = CASE WHEN v_trainee.trn IS NULL THEN p_now ELSE trn_received_at END,
           updated_at = v_clock
     WHERE id = p_trainee;
    UPDATE trn_requests
       SET state = 'received', trn = p_trn, active_trainee_id = NULL, last_response = p_response, next_poll_at = NULL,
           updated_at = v_clock
     WHERE id = p_request;
    -- its register job (which may have read the trainee before this TRN) finds it received and sends nothing
    UPDATE trn_requests
       SET state = 'received', trn = p_trn, active_trainee_id = NULL, next_poll_at = NULL, updated_at = v_clock
     WHERE active_trainee_id = p_trainee AND id <> p_request;
  EXCEPTION WHEN unique_violation THEN
    outcome := 'taken';
    RETURN;
  END;
  INSERT INTO sync_events (trainee_id, kind, outcome, message, job_name, job_id, task_id, details, created_at)
  VALUES (p_trainee, 'trn_received', 'success',
          coalesce(p_message, 'TRN ' || p_trn || ' received for request ' || v_request.request_id),
          p_job_name, p_job_id, p_task_id,
          jsonb_build_object('requestId', v_request.request_id, 'trn', p_trn, 'fromState', v_trainee.state, 'toState', v_state),
          p_now);
  IF v_trainee.trn IS NULL AND v_state NOT IN ('withdrawn', 'awarded', 'draft', 'discarded')
     AND NOT EXISTS (SELECT 1 FROM sync_tasks WHERE trainee_id = p_trainee AND kind = 'update_trainee' AND state IN ('pending', 'queued')) THEN
    INSERT INTO sync_tasks (trainee_id, kind, phase, available_at, trn_request_id, trace_context, created_at, updated_at)
    VALUES (p_trainee, 'update_trainee', p_update_phase, p_now, NULL, p_trace_context, v_clock, v_clock);
  END IF;
  outcome := 'stored';
END
$$;

-- Outbound events to the upstream application (src/jobs/upstream-webhooks.ts), written here, in the
-- transaction of the fact itself: a fact committed has its event, a fact rolled back has none, and
-- each change of a row fires once, whichever process (web, worker, CLI) writes it. Whether anything
-- is written is decided by the database, not the connection: the one row of upstream_webhook_settings,
-- which the worker writes at start (on when its UPSTREAM_WEBHOOK_URL is set; no row, nothing written).
-- At most one row (not expressible in schema.prisma, and a CHECK in a migration stalls the WebAssembly
-- schema engine's replay, so it lives here).
ALTER TABLE "upstream_webhook_settings" DROP CONSTRAINT IF EXISTS "upstream_webhook_settings_one_row";
ALTER TABLE "upstream_webhook_settings" ADD CONSTRAINT "upstream_webhook_settings_one_row" CHECK ("id");
CREATE OR REPLACE FUNCTION upstream_webhooks_enabled() RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT enabled FROM upstream_webhook_settings WHERE id), false)
$$;

CREATE OR REPLACE FUNCTION upstream_webhook_enqueue(p_type text, p_trainee uuid, p_data jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_slug text;
BEGIN
  SELECT slug INTO v_slug FROM trainees WHERE id = p_trainee;
  INSERT INTO upstream_webhooks (event_id, type, trainee_id, trainee_slug, payload, created_at, next_attempt_at)
  VALUES (gen_random_uuid(), p_type, p_trainee, v_slug, jsonb_build_object('slug', v_slug) || p_data, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC');
END
$$;

CREATE OR REPLACE FUNCTION trainees_upstream_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT upstream_webhooks_enabled() THEN
    RETURN NULL;
  END IF;
  IF NEW.trn IS NOT NULL AND OLD.trn IS NULL THEN
    PERFORM upstream_webhook_enqueue('trn.received', NEW.id, jsonb_build_object('trn', NEW.trn));
  END IF;
  IF NEW.state = 'awarded' AND OLD.state IS DISTINCT FROM 'awarded' THEN
    PERFORM upstream_webhook_enqueue('trainee.awarded', NEW.id,
      jsonb_build_object('trn', NEW.trn, 'awardedAt', to_char(NEW.awarded_at, 'YYYY-MM-DD')));
  END IF;
  RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS trainees_upstream_webhooks ON "trainees";
CREATE TRIGGER trainees_upstream_webhooks AFTER UPDATE OF trn, state ON "trainees"
  FOR EACH ROW EXECUTE FUNCTION trainees_upstream_webhooks();

-- sync.failed: a task failed for good. sync.recovered: a task that had failed (failed_at is kept)
-- succeeded after a retry, or support cancelled it (the trainee's line moves on).
CREATE OR REPLACE FUNCTION sync_tasks_upstream_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state IS NOT DISTINCT FROM OLD.state OR NOT upstream_webhooks_enabled() THEN
    RETURN NULL;
  END IF;
  IF NEW.state = 'failed' THEN
    PERFORM upstream_webhook_enqueue('sync.failed', NEW.trainee_id, jsonb_build_object(
      'taskId', NEW.id::text, 'jobType', replace(NEW.kind::text, '_', '-'), 'errorClass', NEW.error_class,
      'httpStatus', NEW.http_status, 'errorCode', NEW.error_code, 'message', NEW.error_message,
      'failedAt', to_char(NEW.failed_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
  ELSIF NEW.state IN ('succeeded', 'cancelled') AND NEW.failed_at IS NOT NULL THEN
    PERFORM upstream_webhook_enqueue('sync.recovered', NEW.trainee_id, jsonb_build_object(
      'taskId', NEW.id::text, 'jobType', replace(NEW.kind::text, '_', '-'), 'resolution', NEW.state::text));
  END IF;
  RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS sync_tasks_upstream_webhooks ON "sync_tasks";
CREATE TRIGGER sync_tasks_upstream_webhooks AFTER UPDATE OF state ON "sync_tasks"
  FOR EACH ROW EXECUTE FUNCTION sync_tasks_upstream_webhooks();

-- The claim of a sync task by a run (claimTask in src/trainees/sync-tasks.ts, which holds the rules'
-- reasons), in one statement instead of an interactive transaction of nine: the trainee row lock
-- first (FOR NO KEY UPDATE, the order every writer of a trainee's line keeps), then the task's; a
-- finished task is already done; a task that is not its trainee's head by (phase, id) goes back to
-- pending (a failed one first sends the failed tasks before it back to pending) with a `<kind>_waiting`
-- event; a task found still running counts a stall, and past p_max_stalls it fails as job_stalled
-- with a `<kind>_failed` event; otherwise it runs under claim_count + 1, the run's fence. Each
-- statement of a volatile function reads the latest committed rows, as separate statements did.
-- Returns {kind, message} and, when claimed, the task and trainee rows (to_jsonb; ids as text).
-- updated_at is the wall clock, as Prisma's @updatedAt sets it; times written come from p_now.
CREATE OR REPLACE FUNCTION trs_sync_claim_task(p_task bigint, p_attempt int, p_now timestamptz, p_max_stalls int)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_now timestamp(3) := p_now AT TIME ZONE 'UTC';
  v_clock timestamp(3) := clock_timestamp() AT TIME ZONE 'UTC';
  v_owner uuid;
  v_trainee trainees;
  v_has_trainee boolean;
  v_task sync_tasks;
  v_head sync_tasks;
  v_stalls int;
  v_message text;
BEGIN
  SELECT trainee_id INTO v_owner FROM sync_tasks WHERE id = p_task;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('kind', 'missing', 'message', 'task no longer exists');
  END IF;
  SELECT * INTO v_trainee FROM trainees WHERE id = v_owner FOR NO KEY UPDATE;
  v_has_trainee := FOUND;
  SELECT * INTO v_task FROM sync_tasks WHERE id = p_task FOR UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('kind', 'missing', 'message', 'task no longer exists');
  END IF;
  IF NOT v_has_trainee THEN
    RETURN jsonb_build_object('kind', 'missing', 'message', 'trainee no longer exists');
  END IF;
  IF v_task.state NOT IN ('pending', 'queued', 'running', 'failed') THEN
    RETURN jsonb_build_object('kind', 'already-done', 'message', 'task already ' || v_task.state::text);
  END IF;

  SELECT * INTO v_head FROM sync_tasks
    WHERE trainee_id = v_task.trainee_id AND state IN ('pending', 'queued', 'running', 'failed')
    ORDER BY phase, id LIMIT 1;
  IF FOUND AND v_head.id <> v_task.id THEN
    IF v_task.state = 'failed' THEN
      UPDATE sync_tasks SET state = 'pending', available_at = v_now, updated_at = v_clock
        WHERE trainee_id = v_task.trainee_id AND state IN ('failed')
          AND (phase < v_task.phase OR (phase = v_task.phase AND id < v_task.id));
    END IF;
    UPDATE sync_tasks SET state = 'pending', updated_at = v_clock
      WHERE id = v_task.id AND state IN ('pending', 'queued', 'running', 'failed');
    v_message := format('waits behind %s #%s (%s), which must reach the API first', v_head.kind, v_head.id, v_head.state);
    INSERT INTO sync_events (trainee_id, kind, outcome, message, job_name, job_id, task_id, error_class, http_status, error_code, created_at)
      VALUES (v_task.trainee_id, v_task.kind::text || '_waiting', 'info', v_message, NULL, NULL, v_task.id, NULL, NULL, NULL, v_now);
    RETURN jsonb_build_object('kind', 'parked', 'message', v_message);
  END IF;

  v_stalls := CASE WHEN v_task.state = 'running' THEN v_task.stalls + 1 ELSE v_task.stalls END;
  IF v_stalls > p_max_stalls THEN
    v_message := format('the job stopped mid-run %s times in a row (its worker died or was killed each time)', v_stalls);
    UPDATE sync_tasks SET state = 'failed', stalls = v_stalls, error_class = 'job_stalled', http_status = NULL, error_code = NULL,
        error_message = v_message, failed_at = v_now, updated_at = v_clock
      WHERE id = v_task.id;
    INSERT INTO sync_events (trainee_id, kind, outcome, message, job_name, job_id, task_id, error_class, http_status, error_code, created_at)
      VALUES (v_task.trainee_id, v_task.kind::text || '_failed', 'failure', v_message, NULL, NULL, v_task.id, 'job_stalled', NULL, NULL, v_now);
    RETURN jsonb_build_object('kind', 'stalled-out', 'message', v_message);
  END IF;

  UPDATE sync_tasks SET state = 'running', started_at = v_now, attempts = p_attempt, stalls = v_stalls,
      claim_count = claim_count + 1, updated_at = v_clock
    WHERE id = v_task.id
    RETURNING * INTO v_task;
  RETURN jsonb_build_object('kind', 'claimed', 'message', 'claimed',
    'task', to_jsonb(v_task) || jsonb_build_object('id', v_task.id::text),
    'trainee', to_jsonb(v_trainee));
END
$$;
