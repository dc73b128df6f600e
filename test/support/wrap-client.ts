/** A teacher records client with some methods replaced, the rest bound to the real one. */
import type { TeacherRecordsClient } from "../../src/clients/teacher-records.js";

export function wrapClient(api: TeacherRecordsClient, overrides: Partial<Omit<TeacherRecordsClient, "kind">>): TeacherRecordsClient {
  return {
    kind: api.kind,
    requestTrn: api.requestTrn.bind(api),
    getTrnRequest: api.getTrnRequest.bind(api),
    planSync: api.planSync.bind(api),
    send: api.send.bind(api),
    awardDateFrom: api.awardDateFrom.bind(api),
    getPerson: api.getPerson.bind(api),
    ...overrides,
  };
}

/** A gate a test opens by hand: `wait()` resolves once `open()` is called. */
export function gate() {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  let waiting = 0;
  return {
    wait: async () => {
      waiting++;
      await opened;
    },
    /** how many callers reached the gate */
    waiting: () => waiting,
    open: () => release(),
  };
}
