// The stint planner's REST routes (docs/strategy.md): the team's stored plan and planning
// (stored, or a dry run for what-ifs). Types are the cloud's (src/api/openapi.ts).
import type { AuthManager } from './auth';
import { ENDPOINTS } from './endpoints';
import type { components } from './openapi';

export type PlanRequest = components['schemas']['StrategyPlanRequest'];
export type DriverSpec = components['schemas']['DriverSpec'];
export type Plan = components['schemas']['StrategyPlan'];
export type StoredPlan = components['schemas']['StoredStrategyPlan'];

/** The team's stored plan; `null` before the first plan (404). */
export async function getPlan(auth: AuthManager): Promise<StoredPlan | null> {
  try {
    return await auth.fetchJson<StoredPlan>(ENDPOINTS.strategyPlan);
  } catch (e) {
    if (e instanceof Error && 'status' in e && (e as { status: number }).status === 404) return null;
    throw e;
  }
}

/** Plans `req`: stored as the team's plan, or with `dryRun` only computed (what-ifs). Errors are
 * `ApiError`s with the API's `field` in `detail`. */
export function postPlan(auth: AuthManager, req: PlanRequest, dryRun = false): Promise<Plan> {
  return auth.fetchJson<Plan>(dryRun ? ENDPOINTS.strategyPlanDryRun : ENDPOINTS.strategyPlan, { method: 'POST', body: JSON.stringify(req) });
}
