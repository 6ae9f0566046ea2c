export interface EventOutcome {
  /** Short, logged and stored with the event. */
  outcome: string;
  reference: string | null;
  /** True when nothing we hold matched and an admin must look. */
  needsReview: boolean;
}
