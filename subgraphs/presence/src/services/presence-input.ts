/** Validation of the presence subgraph's inputs, in one place. */
import { fromZodError } from '@chat/common';
import { z } from 'zod';

/** The device a heartbeat, sign-off or setPresence comes from when setPresence names none. */
export const DEFAULT_DEVICE_ID = 'default';

/** A client's name for one of its devices (an installation, a browser tab): 1 to 64 characters, letters, digits and . _ : - */
export const ZDeviceIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9._:-]+$/, 'may contain only letters, digits and . _ : -');

const ZDeviceArgsSchema = z.object({ deviceId: ZDeviceIdSchema });

/** @throws BAD_USER_INPUT for a malformed device ID. */
export function parseDeviceId(deviceId: string): string {
  const parsed = ZDeviceArgsSchema.safeParse({ deviceId });
  if (!parsed.success) throw fromZodError(parsed.error);
  return parsed.data.deviceId;
}
