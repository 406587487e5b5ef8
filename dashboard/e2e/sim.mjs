// Simulated race for tests and benches: a closed track with position fixes, a team car driven
// lap after lap, and a field of cars with their own pace and pit stops. Deterministic (seeded).
// This is test data made by the test harness, never shipped in the dashboard.

export function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) % 1_000_000) / 1_000_000;
  };
}

/** A closed track: points every metre-ish as [x, y] metres around a centre, plus lat/lon. */
export function makeTrack(lengthM = 2400) {
  const N = 720;
  const raw = [];
  for (let i = 0; i < N; i++) {
    const a = (i / N) * 2 * Math.PI;
    const r = 1 + 0.25 * Math.sin(3 * a) + 0.1 * Math.cos(5 * a);
    raw.push([Math.cos(a) * r * 1.6, Math.sin(a) * r]);
  }
  let len = 0;
  for (let i = 0; i < N; i++) {
    const [x0, y0] = raw[i];
    const [x1, y1] = raw[(i + 1) % N];
    len += Math.hypot(x1 - x0, y1 - y0);
  }
  const scale = lengthM / len;
  const pts = raw.map(([x, y]) => [x * scale, y * scale]);
  // curvature proxy: turning angle per point
  const curv = pts.map((p, i) => {
    const a = pts[(i - 1 + N) % N];
    const b = pts[(i + 1) % N];
    const h1 = Math.atan2(p[1] - a[1], p[0] - a[0]);
    const h2 = Math.atan2(b[1] - p[1], b[0] - p[0]);
    let d = h2 - h1;
    while (d > Math.PI) d -= 2 * Math.PI;
    while (d < -Math.PI) d += 2 * Math.PI;
    return d;
  });
  const lat0 = 47.2197;
  const lon0 = 14.7648;
  const at = (pos) => {
    const f = (((pos % 1) + 1) % 1) * N;
    const i = Math.floor(f) % N;
    const j = (i + 1) % N;
    const t = f - Math.floor(f);
    const x = pts[i][0] + (pts[j][0] - pts[i][0]) * t;
    const y = pts[i][1] + (pts[j][1] - pts[i][1]) * t;
    const lat = lat0 + (y / 6_371_000) * (180 / Math.PI);
    const lon = lon0 + (x / (6_371_000 * Math.cos((lat0 * Math.PI) / 180))) * (180 / Math.PI);
    return { x, y, lat, lon, curv: curv[i], heading: Math.atan2(pts[j][1] - pts[i][1], pts[j][0] - pts[i][0]) };
  };
  // target speed by position: slow where it turns
  const smooth = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let m = 0;
    for (let k = -12; k <= 12; k++) m = Math.max(m, Math.abs(curv[(i + k + N) % N]));
    smooth[i] = m;
  }
  const maxC = Math.max(...smooth);
  const target = (pos) => {
    const i = Math.floor((((pos % 1) + 1) % 1) * N) % N;
    return 230 - 150 * (smooth[i] / maxC);
  };
  return { lengthM, at, target, lat0, lon0 };
}

/** The team car: a driver model that follows the target speed with limited accel/brake. */
export class TeamCar {
  constructor(track, driverId, seed = 1) {
    this.track = track;
    this.driverId = driverId;
    this.r = rng(seed);
    this.pos = 0.001;
    this.speed = 120;
    this.lap = 1;
    this.lapStart = 0;
    this.t = 0;
    this.fuel = 92;
    this.wear = [2, 2, 1.5, 1.5];
    this.seq = 0;
    this.lastLapTime = null;
    this.skill = 0.97 + 0.02 * this.r();
  }

  /**
   * Applies a `pit_command` to the car's pit service, as a driver agent does in iRacing; from then
   * on the samples carry iRacing's answer (`pitServiceFuelL` = PitSvFuel, `pitServiceFlags` =
   * PitSvFlags: 0x01 LF, 0x02 RF, 0x04 LR, 0x08 RR, 0x10 fuel, 0x20 windscreen, 0x40 fast repair).
   */
  applyPit(c) {
    let flags = c.clearAll ? 0 : (this.pitSvFlags ?? 0);
    let fuel = c.clearAll ? 0 : (this.pitSvFuel ?? 0);
    const bit = (b, on) => (flags = on ? flags | b : flags & ~b);
    if (c.fuelL != null) {
      bit(0x10, c.fuelL > 0);
      if (c.fuelL > 0) fuel = c.fuelL;
    }
    if (c.tyres) [['lf', 0x01], ['rf', 0x02], ['lr', 0x04], ['rr', 0x08]].forEach(([k, b]) => bit(b, !!c.tyres[k]));
    if (c.windscreen != null) bit(0x20, c.windscreen);
    if (c.fastRepair != null) bit(0x40, c.fastRepair);
    this.pitSvFlags = flags;
    this.pitSvFuel = fuel;
  }

  /** Advances dt seconds; returns the telemetry_update data at the new time (ISO time given). */
  step(dt, iso) {
    const tr = this.track;
    const lookahead = tr.target(this.pos + 60 / tr.lengthM) * this.skill;
    const want = Math.min(tr.target(this.pos) * this.skill, lookahead + 25);
    let throttle = 0;
    let brake = 0;
    if (want > this.speed + 2) {
      throttle = Math.min(100, 40 + (want - this.speed) * 6);
      this.speed += Math.min(want - this.speed, (throttle / 100) * 12 * dt * 3.6 * 0.35);
    } else if (want < this.speed - 2) {
      brake = Math.min(100, (this.speed - want) * 5);
      this.speed -= Math.min(this.speed - want, (brake / 100) * 35 * dt * 3.6 * 0.4);
    } else {
      throttle = 55;
    }
    const dist = (this.speed / 3.6) * dt;
    this.pos += dist / tr.lengthM;
    this.t += dt;
    let lapDone = null;
    if (this.pos >= 1) {
      this.pos -= 1;
      lapDone = this.t - this.lapStart;
      this.lastLapTime = lapDone;
      this.lapStart = this.t;
      this.lap += 1;
      this.wear = this.wear.map((w) => Math.min(100, w + 0.6 + 0.2 * this.r()));
    }
    this.fuel = Math.max(0, this.fuel - dist * 0.0009);
    const p = tr.at(this.pos);
    const gear = Math.max(1, Math.min(6, Math.floor(this.speed / 42) + 1));
    const rpm = 3000 + ((this.speed % 42) / 42) * 4500;
    this.seq += 1;
    const sectorStarts = [0, 0.334, 0.667];
    const sector = this.pos >= sectorStarts[2] ? 3 : this.pos >= sectorStarts[1] ? 2 : 1;
    return {
      lapDone,
      data: {
        driverId: this.driverId,
        timestamp: iso,
        speed: round(this.speed, 2),
        rpm: round(rpm, 0),
        gear,
        throttle: round(throttle, 1),
        brake: round(brake, 1),
        steeringAngle: round(-p.curv * 900, 1),
        latitude: round(p.lat, 7),
        longitude: round(p.lon, 7),
        trackPosition: round(this.pos, 5),
        lap: this.lap,
        sector,
        fuelLevel: round(this.fuel, 2),
        tireWear: { frontLeft: round(this.wear[0], 1), frontRight: round(this.wear[1], 1), rearLeft: round(this.wear[2], 1), rearRight: round(this.wear[3], 1) },
        lapDistance: round(this.pos * tr.lengthM, 1),
        lapTime: round(this.t - this.lapStart, 3),
        sessionTime: round(this.t, 3),
        yawRate: round(((p.curv / (tr.lengthM / 720)) * (this.speed / 3.6) * 180) / Math.PI, 2),
        onPitRoad: false,
        sequence: this.seq,
        ...(this.pitSvFlags === undefined ? {} : { pitServiceFuelL: this.pitSvFuel, pitServiceFlags: this.pitSvFlags }),
      },
    };
  }
}

function round(v, d) {
  const k = 10 ** d;
  return Math.round(v * k) / k;
}

/** The field: `n` cars with their own lap pace (s) and pit windows; the team car slots in. */
export class Field {
  constructor(n, track, seed = 7) {
    const r = rng(seed);
    this.track = track;
    this.cars = Array.from({ length: n }, (_, i) => ({
      carIdx: i,
      carNumber: String(i + 2),
      driverName: `Sim Driver ${i + 1}`,
      teamName: `Sim Team ${Math.floor(i / 2) + 1}`,
      carClass: i % 3 === 0 ? 'GT3' : 'GT4',
      pace: 44 + r() * 6,
      dist: r() * 0.9, // laps done (fractional)
      last: null,
      best: null,
      pitStops: 0,
      pitUntil: 0,
      nextPit: 6 + Math.floor(r() * 8),
    }));
  }

  step(dt, t) {
    for (const c of this.cars) {
      if (c.isTeam) continue;
      const inPit = t < c.pitUntil;
      const before = Math.floor(c.dist);
      c.dist += (dt / c.pace) * (inPit ? 0.3 : 1);
      if (Math.floor(c.dist) > before) {
        const lt = c.pace * (0.99 + 0.02 * ((c.carIdx * 7 + before) % 10) / 10) + (inPit ? 20 : 0);
        c.last = lt;
        c.best = c.best === null ? lt : Math.min(c.best, lt);
        if (Math.floor(c.dist) >= c.nextPit) {
          c.pitUntil = t + 8;
          c.pitStops += 1;
          c.nextPit += 10;
        }
      }
    }
  }

  setTeam(carIdx, team) {
    const c = this.cars[carIdx];
    c.isTeam = true;
    c.driverName = team.driverName;
    c.teamName = team.teamName;
    c.carNumber = team.carNumber;
    c.dist = team.lap - 1 + team.pos;
    c.last = team.last;
    if (team.last !== null) c.best = c.best === null ? team.last : Math.min(c.best, team.last);
    c.onPit = team.onPitRoad;
  }

  entries(t) {
    const sorted = this.cars.slice().sort((a, b) => b.dist - a.dist);
    const leader = sorted[0];
    const classPos = {};
    return sorted.map((c, i) => {
      classPos[c.carClass] = (classPos[c.carClass] ?? 0) + 1;
      const ahead = sorted[i - 1];
      return {
        carIdx: c.carIdx,
        carNumber: c.carNumber,
        driverName: c.driverName,
        teamName: c.teamName,
        carClass: c.carClass,
        position: i + 1,
        classPosition: classPos[c.carClass],
        lap: Math.floor(c.dist) + 1,
        trackPosition: round(c.dist % 1, 4),
        lastLapTime: c.last === null ? null : round(c.last, 3),
        bestLapTime: c.best === null ? null : round(c.best, 3),
        gapToLeader: i === 0 ? 0 : round((leader.dist - c.dist) * leader.pace, 3),
        gapToAhead: i === 0 ? null : round((ahead.dist - c.dist) * leader.pace, 3),
        onPitRoad: c.isTeam ? !!c.onPit : t < c.pitUntil,
        pitStops: c.pitStops,
        isTeamCar: !!c.isTeam,
      };
    });
  }
}
