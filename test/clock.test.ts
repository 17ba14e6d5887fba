// <clock> from -rtc: the base date of a command line.
import { domainFromArgvText } from '../src/ir/from-argv.js';

describe('from-native: -rtc base=DATE', () => {
  const clock = (rtc: string) => domainFromArgvText(`/usr/bin/qemu-system-x86_64 -rtc ${rtc}`, 'x').domain.clock;
  test("a date is libvirt's absolute clock, in epoch seconds (a variable one has no start)", () => {
    expect(clock('base=2006-06-17T16:01:21')).toMatchObject({ offset: 'absolute', start: '1150560081' });
    expect(clock('base=2006-06-17')).toMatchObject({ offset: 'absolute', start: '1150502400' });
    expect(clock('base=2006-06-17').basis).toBeUndefined();
  });
  test('what QEMU would refuse is refused', () => {
    expect(() => clock('base=yesterday')).toThrow(/base= is utc, localtime or a date/);
  });
});
