/**
 * Work and answers stay bounded however large the pod (issue 15, item 9):
 * what the engine does per container is a set lookup, not a scan of every
 * other container, and a message about a pod with thousands of containers
 * names a few and counts the rest.
 */
import { describe, expect, test } from 'vitest';
import { injectPod } from '../../src/engine/index.ts';
import { engineContext } from '../support/server.ts';

const REPO = 'https://github.com/acme/dags.git';
const ctx = engineContext();

/** A pod of `count` containers c0, c1, … with the given containers annotation. */
const podOf = (count: number, containers: string) => ({
  metadata: { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/containers': containers } },
  spec: { containers: Array.from({ length: count }, (_, i) => ({ name: `c${i}`, image: 'nginx' })) },
});

describe('a containers annotation on a pod with many containers', () => {
  test('mounts into exactly the containers named, in the pod’s order', () => {
    const r = injectPod({ pod: podOf(20_000, 'c19999,c7,c12345'), namespace: 'team-a' }, ctx);
    expect(r.outcome).toBe('injected');
    expect(r.injection?.appContainers).toEqual(['c7', 'c12345', 'c19999']);
  });

  test('a name the pod lacks is refused with the first containers listed and the rest counted', () => {
    const r = injectPod({ pod: podOf(5_000, 'c1,nope'), namespace: 'team-a' }, ctx);
    expect(r.outcome).toBe('denied');
    const [error] = r.errors;
    expect(error?.code).toBe('CONTAINER_NOT_FOUND');
    const names = Array.from({ length: 20 }, (_, i) => `c${i}`).join(', ');
    expect(error?.message).toBe(`"c1,nope" names "nope", which the pod does not have; its containers are ${names} and 4980 more`);
  });

  test('a pod with few containers still lists them all', () => {
    const r = injectPod({ pod: podOf(3, 'nope'), namespace: 'team-a' }, ctx);
    expect(r.errors[0]?.message).toBe('"nope" names "nope", which the pod does not have; its containers are c0, c1, c2');
  });
});
