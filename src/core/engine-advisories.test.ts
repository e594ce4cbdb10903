import { describe, expect, it } from 'vitest';
import { engineAdvisories, parseEngineVersion } from './engine-advisories.js';

describe('engine advisories', () => {
  it('reads the versions engines report, distribution suffixes included', () => {
    expect(parseEngineVersion('20.10.24+dfsg1')).toEqual([20, 10, 24]);
    expect(parseEngineVersion('v24.0.7')).toEqual([24, 0, 7]);
    expect(parseEngineVersion('28.2')).toEqual([28, 2, 0]);
    expect(parseEngineVersion('dev')).toBeNull();
  });

  it('warns about the libnetwork stop deadlock before 20.10.27, naming the version found', () => {
    for (const version of ['20.10.24+dfsg1', '20.10.26', '19.03.15', '18.09.1']) {
      const advisories = engineAdvisories(version);
      expect(advisories, version).toHaveLength(1);
      expect(advisories[0]!.message).toContain(`Docker Engine ${version} can deadlock`);
      expect(advisories[0]!.message).toContain('20.10.27');
      expect(advisories[0]!.reference).toBe('https://github.com/moby/moby/issues/46661');
    }
  });

  it('says nothing for fixed engines or versions it cannot read', () => {
    for (const version of [
      '20.10.27',
      '20.10.27+dfsg1',
      '23.0.0',
      '24.0.7',
      '28.2.2',
      'master-dockerproject',
    ]) {
      expect(engineAdvisories(version), version).toEqual([]);
    }
  });
});
