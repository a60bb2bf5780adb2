import { isImageReference } from './docker-image';

const sha = 'a'.repeat(64);

describe(isImageReference.name, () => {
  it.each([
    'nginx',
    'nginx:1.27',
    'library/nginx:latest',
    'ghcr.io/acme/api:v1.2.3',
    'localhost:5000/team/app',
    'registry.example.com:443/a/b/c:tag_1-x.y',
    `nginx@sha256:${sha}`,
    `ghcr.io/acme/api:v1@sha256:${sha}`,
    'my_app__x/foo-bar.baz',
    '[::1]:5000/app:1',
    'Registry.Example.com/app',
  ])('should accept %s', (ref) => {
    expect(isImageReference(ref)).toBe(true);
  });

  it.each([
    '',
    'Nginx',
    'nginx:',
    'nginx:-bad',
    `nginx:${'a'.repeat(129)}`,
    'nginx@sha256:abc',
    `nginx@sha256:${'A'.repeat(64)}`,
    'ng inx',
    '/nginx',
    'nginx/',
    'a//b',
    'nginx..x',
    'nginx_-x',
    'nginx:1.27; rm -rf /',
    'https://ghcr.io/acme/api',
    `${'a'.repeat(256)}:1`,
  ])('should reject %j', (ref) => {
    expect(isImageReference(ref)).toBe(false);
  });

  it('should reject non-strings', () => {
    expect(isImageReference(42)).toBe(false);
    expect(isImageReference(null)).toBe(false);
  });
});
