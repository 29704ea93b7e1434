import type { DecisionSink } from './record.js';

/** Every record to each sink; accepting while all are. */
export function fanOutSinks(sinks: readonly DecisionSink[]): DecisionSink {
  if (sinks.length === 1) return sinks[0] as DecisionSink;
  return {
    accepting: () => sinks.every((sink) => sink.accepting()),
    write(record) {
      for (const sink of sinks) sink.write(record);
    },
    close: async () => {
      await Promise.all(sinks.map((sink) => sink.close()));
    },
  };
}
