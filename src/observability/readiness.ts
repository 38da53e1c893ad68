/** A dependency `/readyz` asks about (src/plugins/use-health.ts): the database, Redis, the shutdown. */
export interface ReadinessCheck {
  readonly name: string;
  readonly check: () => Promise<void>;
  /** Failing it degrades what the instance serves instead of stopping it: reported, still ready. */
  readonly degrades?: boolean;
}
