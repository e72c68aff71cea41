import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '@aws-crypto/crc32c';
import protobuf from 'protobufjs';

/**
 * TensorBoard's event files: a TFRecord stream of `tensorflow.Event` protos. The messages below
 * are the fields of tensorflow/core/util/event.proto and framework/summary.proto that scalars
 * need, with their field numbers; protobufjs encodes them.
 */
const PROTO = `
syntax = "proto3";
package tensorflow;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
    SessionLog session_log = 7;
  }
}
message SessionLog {
  enum SessionStatus { STATUS_UNSPECIFIED = 0; START = 1; STOP = 2; CHECKPOINT = 3; }
  SessionStatus status = 1;
  string checkpoint_path = 2;
  string msg = 3;
}
message Summary {
  message Value {
    string tag = 1;
    oneof value { float simple_value = 2; }
  }
  repeated Value value = 1;
}
`;
export const EventProto = protobuf.parse(PROTO).root.lookupType('tensorflow.Event');

/** TFRecord's checksum: CRC-32C, rotated and offset so a record of CRCs does not checksum to itself. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length (u64 LE), its masked CRC, the data, the data's masked CRC. */
export function tfRecord(data: Uint8Array): Buffer {
  const head = Buffer.alloc(12);
  head.writeBigUInt64LE(BigInt(data.byteLength), 0);
  head.writeUInt32LE(maskedCrc32c(head.subarray(0, 8)), 8);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(maskedCrc32c(data), 0);
  return Buffer.concat([head, data, tail]);
}

let fileCounter = 0;

/**
 * An event file in `dir`, named as TensorBoard's writers name theirs (events.out.tfevents.<time>.
 * <host>.<pid>.<n>), so `tensorboard --logdir` finds it. Each record is written when it comes;
 * the operating system flushes the file, `close` syncs it.
 */
export class EventFileWriter {
  readonly path: string;
  private fd: number | null;

  constructor(dir: string, now = Date.now()) {
    mkdirSync(dir, { recursive: true });
    this.path = join(
      dir,
      `events.out.tfevents.${Math.floor(now / 1000)}.${hostname()}.${process.pid}.${fileCounter++}`,
    );
    this.fd = openSync(this.path, 'wx');
    this.write({ wallTime: now / 1000, fileVersion: 'brain.Event:2' });
  }

  /** Scalars at one step, one Summary value per tag. */
  scalars(step: number, values: Record<string, number>, wallTime = Date.now() / 1000): void {
    const value = Object.entries(values)
      .filter(([, v]) => Number.isFinite(v))
      .map(([tag, simpleValue]) => ({ tag, simpleValue }));
    if (value.length) this.write({ wallTime, step, summary: { value } });
  }

  /**
   * A session restart at `step`: TensorBoard then drops the events of steps >= `step` that
   * earlier files logged (a resumed run logs them again).
   */
  restartAt(step: number, wallTime = Date.now() / 1000): void {
    this.write({ wallTime, step, sessionLog: { status: 1 } });
  }

  close(): void {
    if (this.fd === null) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }

  private write(event: Record<string, unknown>): void {
    if (this.fd === null) throw new Error(`${this.path}: the event file is closed`);
    const record = tfRecord(EventProto.encode(EventProto.fromObject(event)).finish());
    let done = 0;
    while (done < record.byteLength) done += writeSync(this.fd, record, done, record.byteLength - done);
  }
}
