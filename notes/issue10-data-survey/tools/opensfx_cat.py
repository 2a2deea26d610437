# Extract OpenTTD .cat sound container: header = N x (uint32 offset, uint32 size); N = first offset / 8.
# Each entry at offset: [1 byte name length][name][RIFF WAV of size-1-namelen bytes]
import struct, sys, os
f = open(sys.argv[1], 'rb').read(); out = sys.argv[2]; os.makedirs(out, exist_ok=True)
first = struct.unpack_from('<I', f, 0)[0] & 0x7fffffff
n = first // 8
for i in range(n):
    off, size = struct.unpack_from('<II', f, i * 8); off &= 0x7fffffff
    nl = f[off]; name = f[off + 1: off + 1 + nl].rstrip(b'\0').decode('latin1')
    data = f[off + 1 + nl: off + size]
    fn = 'sfx%02d.wav' % i
    open(os.path.join(out, fn), 'wb').write(data)
    print('%d\t%s\t%d' % (i, name, len(data)))
