import { describe, expect, it } from 'vitest';
import {
  isRegistryServer,
  normalizeRegistryServer,
  registriesOfImages,
  registryOfImage,
} from './image-ref.js';

describe('registryOfImage', () => {
  it('finds the registry the way Docker does', () => {
    expect(registryOfImage('nginx')).toBe('docker.io');
    expect(registryOfImage('nginx:alpine')).toBe('docker.io');
    expect(registryOfImage('library/nginx:1')).toBe('docker.io');
    expect(registryOfImage('acme/app:1')).toBe('docker.io');
    expect(registryOfImage('docker.io/acme/app:1')).toBe('docker.io');
    expect(registryOfImage('index.docker.io/acme/app')).toBe('docker.io');
    expect(registryOfImage('registry-1.docker.io/acme/app')).toBe('docker.io');
    expect(registryOfImage('ghcr.io/acme/app:1.2')).toBe('ghcr.io');
    expect(registryOfImage('127.0.0.1:5000/dokkup-test/web:v1')).toBe('127.0.0.1:5000');
    expect(registryOfImage('localhost/app')).toBe('localhost');
    expect(registryOfImage('REGISTRY.Example.com:443/app@sha256:abc')).toBe('registry.example.com:443');
  });
});

describe('normalizeRegistryServer', () => {
  it('one spelling per registry, Docker Hub aliases included', () => {
    expect(normalizeRegistryServer('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normalizeRegistryServer('index.docker.io')).toBe('docker.io');
    expect(normalizeRegistryServer('registry-1.docker.io')).toBe('docker.io');
    expect(normalizeRegistryServer('https://ghcr.io')).toBe('ghcr.io');
    expect(normalizeRegistryServer('GHCR.io/')).toBe('ghcr.io');
    expect(normalizeRegistryServer('http://127.0.0.1:5000/v2/')).toBe('127.0.0.1:5000');
  });

  it('checks the shape of a server', () => {
    expect(isRegistryServer('ghcr.io')).toBe(true);
    expect(isRegistryServer('https://127.0.0.1:5000')).toBe(true);
    expect(isRegistryServer('not a host')).toBe(false);
    expect(isRegistryServer('')).toBe(false);
  });

  it('lists each registry of several images once', () => {
    expect(registriesOfImages(['nginx', 'ghcr.io/a/b', 'docker.io/x/y'])).toEqual(['docker.io', 'ghcr.io']);
  });
});
