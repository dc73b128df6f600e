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
