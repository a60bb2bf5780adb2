import { startApp, type TestContext } from '../support/app';
import { createOrg, createTeam, createUser, type TestUser } from '../support/factories';

type Team = Awaited<ReturnType<typeof createTeam>>;

interface Problem {
  status: number;
  code: string;
  errors?: { field: string; message: string }[];
}

describe('Organizations', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await startApp();
  });
  afterAll(() => ctx.close());

  const problem = (body: unknown): Problem => body as Problem;

  describe('POST /organizations/', () => {
    it('should return 201 with id, name, invite_code and created_at and make the caller admin', async () => {
      const alice = await createUser(ctx, 'alice');
      const name = `acme-${alice.id}`;
      const res = await ctx
        .http()
        .post('/organizations/')
        .set(alice.auth)
        .send({ name: `  ${name}  ` })
        .expect(201);
      expect(res.body).toMatchObject({ id: expect.any(Number), name, role: 'admin' });
      expect(res.body.invite_code).toMatch(/^[A-Za-z0-9_-]{16,}$/);
      expect(new Date(res.body.created_at).toISOString()).toBe(res.body.created_at);

      const members = await ctx
        .http()
        .get(`/organizations/${res.body.id}/members`)
        .set(alice.auth)
        .expect(200);
      expect(members.body).toEqual([
        expect.objectContaining({ user_id: alice.id, role: 'admin', username: alice.username }),
      ]);
    });

    it('should also answer without the trailing slash', async () => {
      const alice = await createUser(ctx, 'alice');
      await ctx
        .http()
        .post('/organizations')
        .set(alice.auth)
        .send({ name: `noslash-${alice.id}` })
        .expect(201);
      const list = await ctx.http().get('/organizations').set(alice.auth).expect(200);
      const listSlash = await ctx.http().get('/organizations/').set(alice.auth).expect(200);
      expect(list.body).toHaveLength(1);
      expect(listSlash.body).toEqual(list.body);
    });

    it('should give different random invite codes to different organizations', async () => {
      const alice = await createUser(ctx, 'alice');
      const a = await createOrg(ctx, alice);
      const b = await createOrg(ctx, alice);
      expect(a.invite_code).not.toBe(b.invite_code);
    });

    it('should return 409 organization/name_taken when the name is taken', async () => {
      const alice = await createUser(ctx, 'alice');
      const bob = await createUser(ctx, 'bob');
      const org = await createOrg(ctx, alice);
      const res = await ctx
        .http()
        .post('/organizations/')
        .set(bob.auth)
        .send({ name: org.name })
        .expect(409)
        .expect('content-type', /problem\+json/);
      expect(problem(res.body).code).toBe('organization/name_taken');
    });

    it('should create exactly one organization when the same name is submitted concurrently', async () => {
      const users = await Promise.all([1, 2, 3, 4].map(() => createUser(ctx, 'racer')));
      const name = `race-${users[0]!.id}`;
      const results = await Promise.all(
        users.map((u) => ctx.http().post('/organizations/').set(u.auth).send({ name })),
      );
      expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    });

    it.each([
      ['blank', { name: '   ' }],
      ['empty', { name: '' }],
      ['missing', {}],
      ['too long', { name: 'x'.repeat(101) }],
      ['not a string', { name: 42 }],
    ])('should return 422 when the name is %s', async (_label, body) => {
      const alice = await createUser(ctx, 'alice');
      const res = await ctx.http().post('/organizations/').set(alice.auth).send(body).expect(422);
      expect(problem(res.body).code).toBe('request/validation_failed');
      expect(problem(res.body).errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: 'name' })]),
      );
    });

    it('should accept a name of exactly 100 characters', async () => {
      const alice = await createUser(ctx, 'alice');
      const name = `${alice.id}-`.padEnd(100, 'y');
      const res = await ctx
        .http()
        .post('/organizations/')
        .set(alice.auth)
        .send({ name })
        .expect(201);
      expect(res.body.name).toBe(name);
    });

    it('should return 401 without a token', async () => {
      await ctx
        .http()
        .post('/organizations/')
        .send({ name: 'anonymous' })
        .expect(401)
        .expect('content-type', /problem\+json/);
    });
  });

  describe('POST /organizations/{invite_code}/join', () => {
    it('should return 201 with a developer membership', async () => {
      const alice = await createUser(ctx, 'alice');
      const bob = await createUser(ctx, 'bob');
      const org = await createOrg(ctx, alice);
      const res = await ctx
        .http()
        .post(`/organizations/${org.invite_code}/join/`)
        .set(bob.auth)
        .expect(201);
      expect(res.body).toEqual({
        organization_id: org.id,
        user_id: bob.id,
        role: 'developer',
        created_at: expect.any(String),
      });
    });

    it('should return 404 organization/invite_not_found for an unknown code', async () => {
      const bob = await createUser(ctx, 'bob');
      const res = await ctx
        .http()
        .post('/organizations/not-a-real-code-at-all/join')
        .set(bob.auth)
        .expect(404);
      expect(problem(res.body).code).toBe('organization/invite_not_found');
    });

    it('should return 409 organization/already_member when joining twice', async () => {
      const alice = await createUser(ctx, 'alice');
      const bob = await createUser(ctx, 'bob');
      const org = await createOrg(ctx, alice);
      await ctx.http().post(`/organizations/${org.invite_code}/join`).set(bob.auth).expect(201);
      const res = await ctx
        .http()
        .post(`/organizations/${org.invite_code}/join`)
        .set(bob.auth)
        .expect(409);
      expect(problem(res.body).code).toBe('organization/already_member');
    });

    it('should return 409 organization/already_member when the admin joins their own organization', async () => {
      const alice = await createUser(ctx, 'alice');
      const org = await createOrg(ctx, alice);
      const res = await ctx
        .http()
        .post(`/organizations/${org.invite_code}/join`)
        .set(alice.auth)
        .expect(409);
      expect(problem(res.body).code).toBe('organization/already_member');
    });

    it('should return 401 without a token', async () => {
      const alice = await createUser(ctx, 'alice');
      const org = await createOrg(ctx, alice);
      await ctx.http().post(`/organizations/${org.invite_code}/join`).expect(401);
    });
  });

  describe('with a team (admin, developers, viewer, outsider)', () => {
    let team: Team;
    beforeAll(async () => {
      team = await createTeam(ctx);
    });

    describe('GET /organizations/', () => {
      it('should list only my organizations, each with my role', async () => {
        const { admin, viewer, outsider, org, otherOrg } = team;
        const mine = await ctx.http().get('/organizations/').set(viewer.auth).expect(200);
        expect(mine.body).toEqual([
          expect.objectContaining({ id: org.id, name: org.name, role: 'viewer', member_count: 4 }),
        ]);
        expect(mine.body[0]).not.toHaveProperty('invite_code');

        const admins = await ctx.http().get('/organizations/').set(admin.auth).expect(200);
        expect(admins.body).toEqual([
          expect.objectContaining({ id: org.id, role: 'admin', invite_code: org.invite_code }),
        ]);

        const outsiders = await ctx.http().get('/organizations/').set(outsider.auth).expect(200);
        expect((outsiders.body as { id: number }[]).map((o) => o.id)).toEqual([otherOrg.id]);
      });

      it('should return an empty list for a user without organizations', async () => {
        const loner = await createUser(ctx, 'loner');
        const res = await ctx.http().get('/organizations/').set(loner.auth).expect(200);
        expect(res.body).toEqual([]);
      });

      it('should return 401 without a token', async () => {
        await ctx.http().get('/organizations/').expect(401);
      });
    });

    describe('GET /organizations/{id}', () => {
      it('should show the invite code to an admin', async () => {
        const { admin, org } = team;
        const res = await ctx.http().get(`/organizations/${org.id}`).set(admin.auth).expect(200);
        expect(res.body).toEqual({
          id: org.id,
          name: org.name,
          invite_code: org.invite_code,
          role: 'admin',
          member_count: 4,
          created_at: expect.any(String),
        });
      });

      it.each(['developer', 'viewer'] as const)(
        'should return 200 without the invite code to a %s',
        async (who) => {
          const { org } = team;
          const res = await ctx
            .http()
            .get(`/organizations/${org.id}/`)
            .set(team[who].auth)
            .expect(200);
          expect(res.body).toMatchObject({ id: org.id, name: org.name, role: who });
          expect(res.body).not.toHaveProperty('invite_code');
        },
      );

      it('should return 404 organization/not_found to a non-member', async () => {
        const { outsider, org } = team;
        const res = await ctx.http().get(`/organizations/${org.id}`).set(outsider.auth).expect(404);
        expect(problem(res.body).code).toBe('organization/not_found');
      });

      it.each(['999999', 'abc', '0', '-1', '1.5'])(
        'should return 404 for the id %s',
        async (id) => {
          const res = await ctx.http().get(`/organizations/${id}`).set(team.admin.auth).expect(404);
          expect(problem(res.body).code).toBe('organization/not_found');
        },
      );

      it('should return 404 for an id beyond the integer range', async () => {
        await ctx.http().get('/organizations/99999999999').set(team.admin.auth).expect(404);
      });

      it('should return 401 without a token', async () => {
        await ctx.http().get(`/organizations/${team.org.id}`).expect(401);
      });
    });

    describe('GET /organizations/{id}/members', () => {
      it.each(['admin', 'developer', 'viewer'] as const)(
        'should list every member with username and role to a %s',
        async (who) => {
          const { admin, developer, developer2, viewer, org } = team;
          const res = await ctx
            .http()
            .get(`/organizations/${org.id}/members`)
            .set(team[who].auth)
            .expect(200);
          expect(res.body).toEqual([
            memberOf(org.id, admin, 'admin'),
            memberOf(org.id, developer, 'developer'),
            memberOf(org.id, developer2, 'developer'),
            memberOf(org.id, viewer, 'viewer'),
          ]);
        },
      );

      it('should return 404 to a non-member', async () => {
        const res = await ctx
          .http()
          .get(`/organizations/${team.org.id}/members/`)
          .set(team.outsider.auth)
          .expect(404);
        expect(problem(res.body).code).toBe('organization/not_found');
      });
    });
  });

  describe('PATCH /organizations/{id}/members/{user_id}', () => {
    let team: Team;
    beforeEach(async () => {
      team = await createTeam(ctx);
    });

    it('should let an admin change a role and return the membership', async () => {
      const { admin, developer, org } = team;
      const res = await ctx
        .http()
        .patch(`/organizations/${org.id}/members/${developer.id}`)
        .set(admin.auth)
        .send({ role: 'viewer' })
        .expect(200);
      expect(res.body).toEqual({
        organization_id: org.id,
        user_id: developer.id,
        role: 'viewer',
        created_at: expect.any(String),
      });
      // The new role takes effect at once: a viewer no longer sees the developer's role.
      const me = await ctx.http().get(`/organizations/${org.id}`).set(developer.auth).expect(200);
      expect(me.body.role).toBe('viewer');
    });

    it('should let an admin promote a member to admin, who then sees the invite code', async () => {
      const { admin, viewer, org } = team;
      await ctx
        .http()
        .patch(`/organizations/${org.id}/members/${viewer.id}/`)
        .set(admin.auth)
        .send({ role: 'admin' })
        .expect(200);
      const res = await ctx.http().get(`/organizations/${org.id}`).set(viewer.auth).expect(200);
      expect(res.body.invite_code).toBe(org.invite_code);
    });

    it.each(['developer', 'viewer'] as const)('should return 403 to a %s', async (who) => {
      const { developer2, org } = team;
      const res = await ctx
        .http()
        .patch(`/organizations/${org.id}/members/${developer2.id}`)
        .set(team[who].auth)
        .send({ role: 'viewer' })
        .expect(403);
      expect(problem(res.body).code).toBe('organization/insufficient_role');
    });

    it('should return 403 when a developer tries to promote themselves', async () => {
      const { developer, org } = team;
      await ctx
        .http()
        .patch(`/organizations/${org.id}/members/${developer.id}`)
        .set(developer.auth)
        .send({ role: 'admin' })
        .expect(403);
    });

    it('should return 404 to a non-member', async () => {
      const { outsider, developer, org } = team;
      const res = await ctx
        .http()
        .patch(`/organizations/${org.id}/members/${developer.id}`)
        .set(outsider.auth)
        .send({ role: 'viewer' })
        .expect(404);
      expect(problem(res.body).code).toBe('organization/not_found');
    });

    it.each([{ role: 'owner' }, { role: 'ADMIN' }, {}, { role: 3 }])(
      'should return 422 for the body %j',
      async (body) => {
        const { admin, developer, org } = team;
        const res = await ctx
          .http()
          .patch(`/organizations/${org.id}/members/${developer.id}`)
          .set(admin.auth)
          .send(body)
          .expect(422);
        expect(problem(res.body).errors).toEqual([expect.objectContaining({ field: 'role' })]);
      },
    );

    it.each(['outsider', 'unknown', 'abc'] as const)(
      'should return 404 organization/member_not_found for a user id that is not a member (%s)',
      async (kind) => {
        const { admin, outsider, org } = team;
        const userId = { outsider: String(outsider.id), unknown: '987654', abc: 'abc' }[kind];
        const res = await ctx
          .http()
          .patch(`/organizations/${org.id}/members/${userId}`)
          .set(admin.auth)
          .send({ role: 'viewer' })
          .expect(404);
        expect(problem(res.body).code).toBe('organization/member_not_found');
      },
    );

    it('should return 409 organization/last_admin when the only admin demotes themselves', async () => {
      const { admin, org } = team;
      const res = await ctx
        .http()
        .patch(`/organizations/${org.id}/members/${admin.id}`)
        .set(admin.auth)
        .send({ role: 'developer' })
        .expect(409);
      expect(problem(res.body).code).toBe('organization/last_admin');
      const me = await ctx.http().get(`/organizations/${org.id}`).set(admin.auth).expect(200);
      expect(me.body.role).toBe('admin');
    });

    it('should let the only admin keep the admin role (no-op) with 200', async () => {
      const { admin, org } = team;
      await ctx
        .http()
        .patch(`/organizations/${org.id}/members/${admin.id}`)
        .set(admin.auth)
        .send({ role: 'admin' })
        .expect(200);
    });

    it('should let one of two admins be demoted, then refuse to demote the other', async () => {
      const { admin, developer, org } = team;
      await promote(org.id, admin, developer);
      await ctx
        .http()
        .patch(`/organizations/${org.id}/members/${admin.id}`)
        .set(developer.auth)
        .send({ role: 'viewer' })
        .expect(200);
      const res = await ctx
        .http()
        .patch(`/organizations/${org.id}/members/${developer.id}`)
        .set(developer.auth)
        .send({ role: 'viewer' })
        .expect(409);
      expect(problem(res.body).code).toBe('organization/last_admin');
    });

    it('should keep one admin when two admins demote each other at the same time', async () => {
      const { admin, developer, viewer, org } = team;
      await promote(org.id, admin, developer);
      const results = await Promise.all([
        ctx
          .http()
          .patch(`/organizations/${org.id}/members/${developer.id}`)
          .set(admin.auth)
          .send({ role: 'viewer' }),
        ctx
          .http()
          .patch(`/organizations/${org.id}/members/${admin.id}`)
          .set(developer.auth)
          .send({ role: 'viewer' }),
      ]);
      // One wins; the loser is no longer an admin (403) or would remove the last admin (409).
      const statuses = results.map((r) => r.status).sort();
      expect(statuses[0]).toBe(200);
      expect([403, 409]).toContain(statuses[1]);
      expect(await adminCount(org.id, viewer)).toBe(1);
    });
  });

  describe('DELETE /organizations/{id}/members/{user_id}', () => {
    let team: Team;
    beforeEach(async () => {
      team = await createTeam(ctx);
    });

    it('should let an admin remove a developer with 204', async () => {
      const { admin, developer, org } = team;
      const res = await ctx
        .http()
        .delete(`/organizations/${org.id}/members/${developer.id}`)
        .set(admin.auth)
        .expect(204);
      expect(res.text).toBe('');
      await ctx.http().get(`/organizations/${org.id}`).set(developer.auth).expect(404);
    });

    it.each(['developer', 'viewer'] as const)(
      'should let a %s remove themselves with 204',
      async (who) => {
        const { org } = team;
        const me = team[who];
        await ctx
          .http()
          .delete(`/organizations/${org.id}/members/${me.id}/`)
          .set(me.auth)
          .expect(204);
        const mine = await ctx.http().get('/organizations/').set(me.auth).expect(200);
        expect(mine.body).toEqual([]);
      },
    );

    it.each(['developer', 'viewer'] as const)(
      'should return 403 when a %s removes another member',
      async (who) => {
        const { developer2, org } = team;
        const res = await ctx
          .http()
          .delete(`/organizations/${org.id}/members/${developer2.id}`)
          .set(team[who].auth)
          .expect(403);
        expect(problem(res.body).code).toBe('organization/insufficient_role');
      },
    );

    it('should return 404 to a non-member', async () => {
      const { outsider, developer, org } = team;
      const res = await ctx
        .http()
        .delete(`/organizations/${org.id}/members/${developer.id}`)
        .set(outsider.auth)
        .expect(404);
      expect(problem(res.body).code).toBe('organization/not_found');
    });

    it('should return 404 organization/member_not_found when the user is not a member', async () => {
      const { admin, outsider, org } = team;
      const res = await ctx
        .http()
        .delete(`/organizations/${org.id}/members/${outsider.id}`)
        .set(admin.auth)
        .expect(404);
      expect(problem(res.body).code).toBe('organization/member_not_found');
    });

    it('should return 409 organization/last_admin when the only admin removes themselves', async () => {
      const { admin, org } = team;
      const res = await ctx
        .http()
        .delete(`/organizations/${org.id}/members/${admin.id}`)
        .set(admin.auth)
        .expect(409);
      expect(problem(res.body).code).toBe('organization/last_admin');
    });

    it('should let an admin leave when another admin remains', async () => {
      const { admin, developer, org } = team;
      await promote(org.id, admin, developer);
      await ctx
        .http()
        .delete(`/organizations/${org.id}/members/${admin.id}`)
        .set(admin.auth)
        .expect(204);
      const res = await ctx
        .http()
        .delete(`/organizations/${org.id}/members/${developer.id}`)
        .set(developer.auth)
        .expect(409);
      expect(problem(res.body).code).toBe('organization/last_admin');
    });

    it('should let a removed member rejoin with the invite code as a developer', async () => {
      const { admin, viewer, org } = team;
      await ctx
        .http()
        .delete(`/organizations/${org.id}/members/${viewer.id}`)
        .set(admin.auth)
        .expect(204);
      const res = await ctx
        .http()
        .post(`/organizations/${org.invite_code}/join`)
        .set(viewer.auth)
        .expect(201);
      expect(res.body.role).toBe('developer');
    });
  });

  describe('POST /organizations/{id}/invite_code', () => {
    let team: Team;
    beforeEach(async () => {
      team = await createTeam(ctx);
    });

    it('should rotate the code with 200: the old code is dead, the new one works', async () => {
      const { admin, org } = team;
      const res = await ctx
        .http()
        .post(`/organizations/${org.id}/invite_code`)
        .set(admin.auth)
        .expect(200);
      const fresh = (res.body as { invite_code: string }).invite_code;
      expect(fresh).toMatch(/^[A-Za-z0-9_-]{16,}$/);
      expect(fresh).not.toBe(org.invite_code);

      const newcomer = await createUser(ctx, 'newcomer');
      const old = await ctx
        .http()
        .post(`/organizations/${org.invite_code}/join`)
        .set(newcomer.auth)
        .expect(404);
      expect(problem(old.body).code).toBe('organization/invite_not_found');
      await ctx.http().post(`/organizations/${fresh}/join`).set(newcomer.auth).expect(201);

      const seen = await ctx.http().get(`/organizations/${org.id}`).set(admin.auth).expect(200);
      expect(seen.body.invite_code).toBe(fresh);
    });

    it.each(['developer', 'viewer'] as const)('should return 403 to a %s', async (who) => {
      const { org } = team;
      const res = await ctx
        .http()
        .post(`/organizations/${org.id}/invite_code/`)
        .set(team[who].auth)
        .expect(403);
      expect(problem(res.body).code).toBe('organization/insufficient_role');
      // The code is unchanged.
      const outsider = await createUser(ctx, 'late');
      await ctx
        .http()
        .post(`/organizations/${org.invite_code}/join`)
        .set(outsider.auth)
        .expect(201);
    });

    it('should return 404 to a non-member', async () => {
      const { outsider, org } = team;
      await ctx.http().post(`/organizations/${org.id}/invite_code`).set(outsider.auth).expect(404);
    });
  });

  function memberOf(organizationId: number, user: TestUser, role: string) {
    return {
      organization_id: organizationId,
      user_id: user.id,
      username: user.username,
      email: user.email,
      role,
      created_at: expect.any(String),
    };
  }

  async function promote(organizationId: number, admin: TestUser, user: TestUser) {
    await ctx
      .http()
      .patch(`/organizations/${organizationId}/members/${user.id}`)
      .set(admin.auth)
      .send({ role: 'admin' })
      .expect(200);
  }

  /** Counts the organization's admins through the API, as the given member. */
  async function adminCount(organizationId: number, member: TestUser): Promise<number> {
    const res = await ctx
      .http()
      .get(`/organizations/${organizationId}/members`)
      .set(member.auth)
      .expect(200);
    return (res.body as { role: string }[]).filter((m) => m.role === 'admin').length;
  }
});
