/**
 * Demo data: `npm run db:seed` (after `npm run db:migrate`). Idempotent: re-running keeps what
 * exists (clusters keep their live accounting) and only adds what is missing. Deployments are
 * created `pending`; the scheduler places them on its next pass once the service runs.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import * as argon2 from 'argon2';
import { loadConfig } from '../src/config/configuration';
import { PrismaClient, type MemberRole } from '../src/generated/prisma/client';
import { ARGON2_OPTIONS } from '../src/users/users.service';

const DEMO_PASSWORD = 'berth-demo-password';
const ORG_NAME = 'demo';
const INVITE_CODE = 'demo-invite-code';
/** 1 core = 1 GiB = 1 device = 1000 milli-units. */
const milli = (n: number): number => Math.round(n * 1000);

const USERS: { username: string; role: MemberRole }[] = [
  { username: 'demo-admin', role: 'admin' },
  { username: 'demo-developer', role: 'developer' },
  { username: 'demo-viewer', role: 'viewer' },
];

const CLUSTERS = [
  { name: 'edge-small', ram: 16, cpu: 4, gpu: 0 },
  { name: 'general-medium', ram: 64, cpu: 16, gpu: 2 },
  { name: 'gpu-large', ram: 256, cpu: 64, gpu: 8 },
];

interface DeploymentSeed {
  name: string;
  image: string;
  priority: number;
  ram: number;
  cpu: number;
  gpu?: number;
  /** Pinned to this cluster; otherwise the scheduler picks one of the organisation's. */
  cluster?: string;
  dependsOn?: string[];
}

const DEPLOYMENTS: DeploymentSeed[] = [
  { name: 'web-frontend', image: 'nginx:1.27', priority: 10, ram: 2, cpu: 1 },
  {
    name: 'api-server',
    image: 'ghcr.io/demo/api:2.3.1',
    priority: 50,
    ram: 4,
    cpu: 2,
    cluster: 'general-medium',
  },
  {
    name: 'model-training',
    image: 'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime',
    priority: 100,
    ram: 48,
    cpu: 12,
    gpu: 4,
    cluster: 'gpu-large',
  },
  { name: 'nightly-etl', image: 'busybox:1.37', priority: -10, ram: 1, cpu: 0.5 },
  {
    name: 'weekly-report',
    image: 'python:3.13-slim',
    priority: 0,
    ram: 0.5,
    cpu: 0.25,
    dependsOn: ['nightly-etl'],
  },
];

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  if (config.nodeEnv === 'production') {
    throw new Error('refusing to seed demo accounts with a known password in production');
  }
  const prisma = new PrismaClient({
    adapter: new PrismaPg({ connectionString: config.databaseUrl }),
  });
  try {
    const hashedPassword = await argon2.hash(DEMO_PASSWORD, ARGON2_OPTIONS);
    const users = new Map<string, number>();
    for (const u of USERS) {
      const row = await prisma.user.upsert({
        where: { username: u.username },
        // Re-running resets the demo password, so the printed logins always work.
        update: { hashedPassword, isActive: true },
        create: { username: u.username, email: `${u.username}@example.com`, hashedPassword },
      });
      users.set(u.username, row.id);
    }
    const adminId = users.get('demo-admin')!;

    const org = await prisma.organization.upsert({
      where: { name: ORG_NAME },
      update: {},
      create: { name: ORG_NAME, inviteCode: INVITE_CODE },
    });
    for (const u of USERS) {
      const userId = users.get(u.username)!;
      await prisma.organizationMember.upsert({
        where: { organizationId_userId: { organizationId: org.id, userId } },
        update: { role: u.role },
        create: { organizationId: org.id, userId, role: u.role },
      });
    }

    const clusters = new Map<string, number>();
    for (const c of CLUSTERS) {
      const row = await prisma.cluster.upsert({
        where: { organizationId_name: { organizationId: org.id, name: c.name } },
        // An existing cluster keeps its totals and live accounting.
        update: {},
        create: {
          name: c.name,
          organizationId: org.id,
          totalRamMilli: milli(c.ram),
          totalCpuMilli: milli(c.cpu),
          totalGpuMilli: milli(c.gpu),
          availableRamMilli: milli(c.ram),
          availableCpuMilli: milli(c.cpu),
          availableGpuMilli: milli(c.gpu),
        },
      });
      clusters.set(c.name, row.id);
    }

    let created = 0;
    await prisma.$transaction(async (tx) => {
      const ids = new Map<string, number>();
      for (const d of DEPLOYMENTS) {
        const existing = await tx.deployment.findFirst({
          where: { organizationId: org.id, name: d.name },
          orderBy: { id: 'asc' },
          select: { id: true },
        });
        if (existing) {
          ids.set(d.name, existing.id);
          continue;
        }
        const clusterId = d.cluster ? clusters.get(d.cluster)! : null;
        const row = await tx.deployment.create({
          data: {
            name: d.name,
            dockerImage: d.image,
            userId: d.priority >= 50 ? adminId : users.get('demo-developer')!,
            organizationId: org.id,
            clusterId,
            pinned: clusterId !== null,
            priority: d.priority,
            requiredRamMilli: milli(d.ram),
            requiredCpuMilli: milli(d.cpu),
            requiredGpuMilli: milli(d.gpu ?? 0),
            dependsOn: {
              create: (d.dependsOn ?? []).map((name) => ({ dependsOnId: ids.get(name)! })),
            },
            events: {
              create: {
                organizationId: org.id,
                clusterId,
                type: 'queued',
                toStatus: 'pending',
                actor: 'user',
                actorUserId: adminId,
                reason: 'created by the demo seed',
              },
            },
          },
        });
        ids.set(d.name, row.id);
        created += 1;
      }
    });

    const base = `http://localhost:${config.port}`;
    console.log(
      [
        `Seeded organisation "${ORG_NAME}" (id ${org.id}, invite code ${org.inviteCode}), ` +
          `${CLUSTERS.length} clusters, ${created} new pending deployments ` +
          `(${DEPLOYMENTS.length - created} already there).`,
        '',
        `Demo logins (password "${DEMO_PASSWORD}"):`,
        ...USERS.map((u) => `  ${u.username.padEnd(16)} ${u.role}`),
        '',
        'Try:',
        `  TOKEN=$(curl -s -X POST ${base}/token -d 'username=demo-admin&password=${DEMO_PASSWORD}' | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`,
        `  curl -s -H "Authorization: Bearer $TOKEN" '${base}/deployments/?organization_id=${org.id}'`,
        `  curl -s -H "Authorization: Bearer $TOKEN" ${base}/clusters/${clusters.get('gpu-large')!}/resources`,
      ].join('\n'),
    );
  } finally {
    await prisma.$disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
