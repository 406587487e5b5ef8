// The lap a driver's in-car cues before the corner are made against (docs/protocol.md
// `cue_reference`): by default the driver's own best valid lap; engineers and admins may choose a
// complete, valid lap of the team's history on the same track instead. Types are the cloud's
// (src/api/openapi.ts).
import { ApiError, type AuthManager } from './auth';
import { ENDPOINTS } from './endpoints';
import type { components } from './openapi';

export type ApiCueReference = components['schemas']['driver_cue_reference'];
export type CueReferenceBody = components['schemas']['CueReferenceBody'];

/** The chosen lap of `driverId`; `null` when their own best valid lap is used (404). Viewers get
 * 403 (an `ApiError`). */
export async function getCueReference(auth: AuthManager, driverId: string): Promise<ApiCueReference | null> {
  try {
    return await auth.fetchJson<ApiCueReference>(ENDPOINTS.cueReference(driverId));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** Chooses `lapId` for `driverId`'s cues (engineer, admin). A lap that is incomplete, not valid
 * or of another track is refused: an `ApiError` with `detail.field == "lapId"` and the reason. */
export function setCueReference(auth: AuthManager, driverId: string, lapId: string): Promise<ApiCueReference> {
  const body: CueReferenceBody = { lapId };
  return auth.fetchJson<ApiCueReference>(ENDPOINTS.cueReference(driverId), { method: 'PUT', body: JSON.stringify(body) });
}

/** Back to the driver's own best valid lap (204). */
export async function clearCueReference(auth: AuthManager, driverId: string): Promise<void> {
  await auth.fetchText(ENDPOINTS.cueReference(driverId), { method: 'DELETE' });
}
