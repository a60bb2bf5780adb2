import { ValidateBy } from 'class-validator';

/*
 * The image reference grammar of distribution/reference (the one `docker pull` uses):
 *   reference      := name [ ":" tag ] [ "@" digest ]
 *   name           := [domain "/"] path-component ["/" path-component]*
 *   domain         := host [":" port]   host := domain-name | "[" IPv6 "]"
 *   path-component := [a-z0-9]+ (separator [a-z0-9]+)*   separator := [_.] | "__" | "-"+
 *   tag            := [\w][\w.-]{0,127}
 *   digest         := algorithm ":" hex   algorithm := [A-Za-z][A-Za-z0-9]* ([-_+.] …)*
 */
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const host = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])`;
const domain = `${host}(?::[0-9]+)?`;
const pathComponent = '[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*';
const name = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`;
const tag = '[\\w][\\w.-]{0,127}';
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

export const IMAGE_REFERENCE = new RegExp(`^(${name})(?::(${tag}))?(?:@(${digest}))?$`);

/** Hex lengths of the registered digest algorithms; others only need ≥ 32 hex digits. */
const DIGEST_HEX: Record<string, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha384: /^[a-f0-9]{96}$/,
  sha512: /^[a-f0-9]{128}$/,
};

export function isImageReference(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > 512) return false;
  const m = IMAGE_REFERENCE.exec(value);
  if (!m) return false;
  const [, repo = '', , dig] = m;
  if (repo.length > 255) return false;
  if (dig) {
    const [algorithm = '', hex = ''] = dig.split(':');
    const rule = DIGEST_HEX[algorithm];
    if (rule && !rule.test(hex)) return false;
  }
  return true;
}

/** `name[:tag][@digest]`, e.g. `nginx:1.27`, `ghcr.io/acme/api@sha256:…`. */
export function IsImageReference(): PropertyDecorator {
  return ValidateBy({
    name: 'isImageReference',
    validator: {
      validate: isImageReference,
      defaultMessage: () => 'docker_image must be a valid image reference: name[:tag][@digest]',
    },
  });
}
