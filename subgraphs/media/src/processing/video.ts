/**
 * Videos, with ffprobe (duration, dimensions) and ffmpeg (one poster frame,
 * made a thumbnail by sharp). Both run through `execFile`, never a shell,
 * with a fixed argument list: the only value from outside is the path of the
 * file, which is the server's own (a storage key, not a client's name). The
 * container's demuxer is forced (`-f`, from the type the signature matched)
 * and only the `file` protocol is allowed, so no playlist or reference inside
 * a file can make ffmpeg open anything else. Each run is killed after a
 * timeout.
 *
 * A verdict on the file (unreadable, too long, no video) is returned; a
 * problem of the machine (ffprobe missing) is thrown, so the media stays
 * PROCESSING and is retried.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { z } from 'zod';
import { exceeds, makeThumbnail, THUMBNAIL_SIZE } from './image.ts';
import type { KindLimits } from './limits.ts';
import type { InspectionResult } from './types.ts';

export interface VideoTools {
  /** @default 'ffprobe' */
  ffprobePath?: string;
  /** @default 'ffmpeg' */
  ffmpegPath?: string;
  /** How long ffprobe or ffmpeg may run, each time, before it is killed and the file refused as UNREADABLE. @default 20_000 */
  timeoutMs?: number;
}

/** ffmpeg's demuxer for each accepted video type: `mov` reads MP4 and QuickTime, `matroska` WebM. */
const DEMUXER: Readonly<Record<string, string>> = {
  'video/mp4': 'mov',
  'video/quicktime': 'mov',
  'video/webm': 'matroska',
};

const ZProbeSchema = z.object({
  streams: z
    .array(
      z.object({
        index: z.number(),
        codec_type: z.string().optional(),
        width: z.number().optional(),
        height: z.number().optional(),
        duration: z.string().optional(),
        disposition: z.object({ attached_pic: z.number().optional() }).optional(),
        tags: z.record(z.string(), z.unknown()).optional(),
        side_data_list: z.array(z.object({ rotation: z.number().optional() })).optional(),
      }),
    )
    .default([]),
  format: z.object({ duration: z.string().optional() }).optional(),
});
type ProbedStream = z.infer<typeof ZProbeSchema>['streams'][number];

/**
 * Duration, dimensions (as displayed: a rotation in the container swaps
 * them) and a poster: the frame at 1 s, or the first for a shorter video.
 * @param path a file on local disk.
 */
export async function inspectVideo(
  path: string,
  expected: { contentType: string; detectedType: string; limits: KindLimits },
  tools: VideoTools = {},
): Promise<InspectionResult> {
  const demuxer = DEMUXER[expected.contentType];
  if (!demuxer) throw new Error(`no demuxer for ${expected.contentType}`);
  const timeoutMs = tools.timeoutMs ?? 20_000;
  const ffprobe = tools.ffprobePath ?? 'ffprobe';
  const input = `file:${resolve(path)}`;
  const inputArgs = ['-protocol_whitelist', 'file', '-f', demuxer];

  const probed = await run(
    ffprobe,
    ['-v', 'error', ...inputArgs, '-print_format', 'json', '-show_format', '-show_streams', input],
    {
      timeoutMs,
      maxBuffer: 4 * 1024 * 1024,
      input,
    },
  );
  if (!probed.ok) return { ok: false, reason: 'UNREADABLE', detail: probed.detail };
  const parsed = ZProbeSchema.safeParse(parseJson(probed.stdout.toString('utf8')));
  if (!parsed.success) return { ok: false, reason: 'UNREADABLE', detail: 'ffprobe described no media' };

  const video = parsed.data.streams.find(
    (stream) => stream.codec_type === 'video' && stream.disposition?.attached_pic !== 1,
  );
  if (!video) return { ok: false, reason: 'UNREADABLE', detail: 'no video stream' };
  if (!video.width || !video.height)
    return { ok: false, reason: 'UNREADABLE', detail: 'the video stream has no dimensions' };
  const turned = Math.abs(rotationOf(video)) % 180 === 90;
  const width = turned ? video.height : video.width;
  const height = turned ? video.width : video.height;
  const tooLarge = exceeds(width, height, expected.limits);
  if (tooLarge) return { ok: false, reason: 'DIMENSIONS_TOO_LARGE', detail: tooLarge };

  let seconds = firstDuration(parsed.data.format?.duration, video.duration, video.tags?.DURATION);
  if (seconds === null) {
    // A WebM recorded live (a browser's MediaRecorder) says no duration: read it off the packets (demuxing only, no decoding).
    const packets = await run(
      ffprobe,
      [
        '-v',
        'error',
        ...inputArgs,
        '-select_streams',
        `${video.index}`,
        '-show_entries',
        'packet=pts_time,duration_time',
        '-print_format',
        'csv=p=0',
        input,
      ],
      { timeoutMs, maxBuffer: 16 * 1024 * 1024, input },
    );
    if (!packets.ok) return { ok: false, reason: 'UNREADABLE', detail: packets.detail };
    seconds = durationFromPackets(packets.stdout.toString('utf8'));
  }
  if (seconds === null) return { ok: false, reason: 'UNREADABLE', detail: 'the duration cannot be determined' };
  const durationMs = Math.round(seconds * 1000);
  if (expected.limits.maxDurationMs && durationMs > expected.limits.maxDurationMs) {
    return {
      ok: false,
      reason: 'TOO_LONG',
      detail: `${Math.round(seconds)} s: at most ${expected.limits.maxDurationMs / 1000} s`,
    };
  }

  const poster = await posterFrame(input, inputArgs, video.index, durationMs > 1000 ? 1 : 0, tools, timeoutMs);
  if (!poster.ok) return { ok: false, reason: 'UNREADABLE', detail: poster.detail };
  const thumbnail = await makeThumbnail(poster.stdout);
  if (!thumbnail.ok) return { ok: false, reason: 'UNREADABLE', detail: `the poster frame: ${thumbnail.detail}` };
  return {
    ok: true,
    inspection: {
      kind: 'VIDEO',
      detectedType: expected.detectedType,
      width,
      height,
      durationMs,
      thumbnail: thumbnail.thumbnail,
    },
  };
}

/**
 * One frame as PNG on stdout, already shrunk to the thumbnail's box by
 * ffmpeg (turned upright: ffmpeg applies the container's rotation). A seek
 * past the last frame gives no output: then the first frame.
 */
async function posterFrame(
  input: string,
  inputArgs: string[],
  streamIndex: number,
  atSeconds: number,
  tools: VideoTools,
  timeoutMs: number,
) {
  const box = `scale=w='min(${THUMBNAIL_SIZE},iw)':h='min(${THUMBNAIL_SIZE},ih)':force_original_aspect_ratio=decrease`;
  const args = (seconds: number) => [
    '-v',
    'error',
    '-nostdin',
    ...inputArgs,
    '-ss',
    `${seconds}`,
    '-i',
    input,
    '-map',
    `0:${streamIndex}`,
    '-frames:v',
    '1',
    '-an',
    '-sn',
    '-dn',
    '-vf',
    box,
    '-f',
    'image2pipe',
    '-c:v',
    'png',
    'pipe:1',
  ];
  const options = { timeoutMs, maxBuffer: 8 * 1024 * 1024, input };
  let frame = await run(tools.ffmpegPath ?? 'ffmpeg', args(atSeconds), options);
  if (frame.ok && frame.stdout.length === 0 && atSeconds > 0)
    frame = await run(tools.ffmpegPath ?? 'ffmpeg', args(0), options);
  if (frame.ok && frame.stdout.length === 0) return { ok: false as const, detail: 'no frame could be decoded' };
  return frame;
}

function rotationOf(stream: ProbedStream): number {
  const fromSideData = stream.side_data_list?.find((data) => data.rotation !== undefined)?.rotation;
  return fromSideData ?? (Number(stream.tags?.rotate ?? 0) || 0);
}

/** The first of the durations ffprobe may give, in seconds: a number of seconds, or Matroska's `HH:MM:SS.nnnnnnnnn` tag. */
function firstDuration(...candidates: unknown[]): number | null {
  for (const candidate of candidates) {
    if (typeof candidate !== 'string') continue;
    const clock = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(candidate.trim());
    const seconds = clock ? Number(clock[1]) * 3600 + Number(clock[2]) * 60 + Number(clock[3]) : Number(candidate);
    if (Number.isFinite(seconds) && seconds > 0) return seconds;
  }
  return null;
}

/** From `pts_time,duration_time` lines: the end of the last packet minus the start of the first. */
export function durationFromPackets(csv: string): number | null {
  let start = Infinity;
  let end = -Infinity;
  for (const line of csv.split('\n')) {
    const [pts, duration] = line.split(',').map(Number);
    if (pts === undefined || !Number.isFinite(pts)) continue;
    start = Math.min(start, pts);
    end = Math.max(end, pts + (duration !== undefined && Number.isFinite(duration) ? duration : 0));
  }
  return end > start ? end - start : null;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

type RunResult = { ok: true; stdout: Buffer } | { ok: false; detail: string };

/**
 * Runs a program without a shell. A program that fails, runs too long or
 * writes too much is a verdict on the file (`ok: false`, with the first line
 * it wrote to stderr); a program that cannot be started is thrown.
 */
function run(
  command: string,
  args: string[],
  options: { timeoutMs: number; maxBuffer: number; input: string },
): Promise<RunResult> {
  const name = command.split('/').pop() ?? command;
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      args,
      {
        encoding: 'buffer',
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: options.maxBuffer,
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        if (!error) return resolvePromise({ ok: true, stdout });
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EACCES')
          return reject(new Error(`${name} cannot be run (${code}): is ffmpeg installed?`, { cause: error }));
        if (code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
          return resolvePromise({ ok: false, detail: `${name} wrote more than expected` });
        if (error.killed)
          return resolvePromise({ ok: false, detail: `${name} did not finish within ${options.timeoutMs} ms` });
        const said =
          stderr
            .toString('utf8')
            .split('\n')
            .find((line) => line.trim()) ?? `exit code ${String(code)}`;
        const scrubbed = said
          .replaceAll(options.input, 'the file')
          .replaceAll(options.input.replace(/^file:/, ''), 'the file');
        resolvePromise({ ok: false, detail: `${name}: ${scrubbed.trim().slice(0, 200)}` });
      },
    );
  });
}
