/**
 * Spend-log rows waiting for Postgres, as JSON text in buffers outside the JavaScript heap, one
 * buffer per batch. Kept as strings on the heap, a second's worth of rows outlived two young
 * collections and was copied into the old generation on every request, which cost the gateway
 * more CPU than serialising them; bytes in a Buffer are never copied by the collector.
 */

// Room for a batch of typical rows (~450 bytes each) without growing.
const initialBatchBytes = 64 * 1024;
const comma = 0x2c;
const closingBracket = 0x5d;

/** One batch: the text of a JSON array of rows, without its closing bracket. */
export class SpendLogBatch {
  rows = 0;
  private buffer = Buffer.allocUnsafe(initialBatchBytes);
  private length = 0;

  constructor() {
    this.length = this.buffer.write("[", 0, "latin1");
  }

  /** Adds one row (the JSON of an object). */
  append(json: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit, plus the comma and room for json()'s bracket.
    const most = json.length * 3 + 2;
    if (this.length + most > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + most));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    if (this.rows > 0) this.buffer[this.length++] = comma;
    this.length += this.buffer.write(json, this.length, "utf8");
    this.rows += 1;
  }

  /**
   * The rows as one JSON array. The closing bracket goes into the buffer (past the length, so a
   * later row overwrites it) rather than onto the string: a concatenated string is copied flat
   * again when the driver measures it, another ~45 kB per insert.
   */
  json(): string {
    this.buffer[this.length] = closingBracket;
    return this.buffer.toString("utf8", 0, this.length + 1);
  }
}

export class SpendLogQueue {
  private batches: SpendLogBatch[] = [];
  private queued = 0;

  constructor(private readonly rowsPerBatch: number) {}

  /** Queues a row; true when it completed a batch (time to write it rather than wait). */
  push(json: string): boolean {
    let last = this.batches.at(-1);
    if (!last || last.rows >= this.rowsPerBatch) {
      last = new SpendLogBatch();
      this.batches.push(last);
    }
    last.append(json);
    this.queued += 1;
    return last.rows === this.rowsPerBatch;
  }

  get rows(): number {
    return this.queued;
  }

  /** Every queued batch, oldest first; the queue is empty afterwards. */
  take(): SpendLogBatch[] {
    const taken = this.batches;
    this.batches = [];
    this.queued = 0;
    return taken;
  }

  /**
   * Puts batches that could not be written back in front of anything queued since, then drops
   * whole batches, oldest first, while more than `maxRows` wait. Returns the rows dropped.
   */
  putBack(batches: readonly SpendLogBatch[], maxRows: number): number {
    this.batches = [...batches, ...this.batches];
    this.queued += batches.reduce((sum, batch) => sum + batch.rows, 0);
    let dropped = 0;
    while (this.queued > maxRows && this.batches.length > 1) {
      const oldest = this.batches.shift();
      if (!oldest) break;
      this.queued -= oldest.rows;
      dropped += oldest.rows;
    }
    return dropped;
  }
}
