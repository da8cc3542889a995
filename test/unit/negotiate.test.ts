/**
 * One content negotiation for /preview and /policy (src/server/negotiate.ts):
 * q-values as RFC 9110 ranks them, a named type beating a wildcard at equal
 * q, JSON for ties, wildcards and anything unreadable.
 */
import { describe, expect, test } from 'vitest';
import { isJsonType, isYamlType, mediaType, prefersYaml } from '../../src/server/negotiate.ts';

describe('prefersYaml', () => {
  test.each([
    // No header, or one that asks for nothing in particular: JSON, the default.
    [undefined, false],
    ['', false],
    ['*/*', false],
    ['application/*', false],
    ['application/json', false],
    // Every YAML type either endpoint has ever accepted, in any case.
    ['application/yaml', true],
    ['application/x-yaml', true],
    ['text/yaml', true],
    ['text/x-yaml', true],
    ['application/vnd.acme+yaml', true],
    ['APPLICATION/YAML', true],
    ['application/yaml; charset=utf-8', true],
    // The highest q wins.
    ['application/json;q=0.5, application/yaml', true],
    ['application/json, application/yaml;q=0.5', false],
    ['application/yaml;q=0.5, application/json', false],
    ['application/json, application/yaml;q=0.9', false],
    ['application/json;q=0, application/yaml;q=0.1', true],
    ['application/yaml;q=0.4, */*;q=0.5', false],
    ['text/yaml;q=0.2, application/x-yaml;q=0.8, application/json;q=0.5', true],
    // At equal q a named type beats a wildcard: the case where the two endpoints used to disagree.
    ['application/yaml;q=0.5, */*;q=0.5', true],
    ['*/*;q=0.5, application/yaml;q=0.5', true],
    ['application/yaml;q=0.5, application/*;q=0.5', true],
    // At equal q and equal specificity: JSON.
    ['application/json, application/yaml', false],
    ['application/yaml, application/json', false],
    ['application/vnd.acme+json, application/yaml', false],
    // A wildcard never selects YAML, even ranked above JSON.
    ['application/json;q=0.9, */*', false],
    ['text/*', false],
    // q=0 is "not acceptable"; the most specific range decides.
    ['application/yaml;q=0', false],
    ['application/yaml;q=0, */*', false],
    ['*/*;q=0, application/yaml', true],
    ['application/json;q=0', false],
    // Garbage: members that are not a media range, or whose q is not a number from 0 to 1, are left out.
    ['garbage', false],
    [';;;,,,', false],
    ['application/yaml;q=abc', false],
    ['application/yaml;q=2', false],
    ['application/yaml;q=-1', false],
    ['yaml', false],
    ['application/yaml;q=abc, application/json;q=0.1, text/yaml;q=0.5', true],
    ['application/yaml;q=.5, application/json;q=0.4', true],
  ])('%j → %s', (accept, expected) => {
    expect(prefersYaml(accept)).toBe(expected);
  });
});

describe('media types', () => {
  test.each([
    ['application/json', 'application/json', true, false],
    ['Application/JSON; charset=utf-8', 'application/json', true, false],
    ['application/merge-patch+json', 'application/merge-patch+json', true, false],
    ['application/yaml', 'application/yaml', false, true],
    ['text/x-yaml;charset=utf-8', 'text/x-yaml', false, true],
    ['text/plain', 'text/plain', false, false],
    [undefined, '', false, false],
  ])('%j is %j: JSON %s, YAML %s', (header, type, json, yaml) => {
    expect(mediaType(header)).toBe(type);
    expect(isJsonType(mediaType(header))).toBe(json);
    expect(isYamlType(mediaType(header))).toBe(yaml);
  });
});
