import sys, re, gzip, os
p = sys.argv[1]; pat = re.compile(sys.argv[2], re.I) if len(sys.argv) > 2 else None
f = 'x/%s/usr/share/doc/%s/copyright' % (p, p)
t = open(f, errors='replace').read()
if not t.startswith('Format'):
    print('[non-DEP5]'); print('\n'.join(t.splitlines()[:40])); sys.exit()
for st in re.split(r'\n\s*\n', t):
    if not st.startswith('Files:'): continue
    lic = re.search(r'^License: *(.*)$', st, re.M)
    files = re.search(r'^Files:(.*?)(?=^\S)', st + '\nX', re.M | re.S).group(1).split()
    cp = re.search(r'^Copyright:(.*?)(?=^\S)', st + '\nX', re.M | re.S)
    com = re.search(r'^Comment:(.*?)(?=^\S)', st + '\nX', re.M | re.S)
    sel = [x for x in files if (pat is None or pat.search(x))]
    if sel or files == ['*']:
        print('Files:', ' '.join(sel if sel else files)[:400]); print('  Copyright:', ' '.join(cp.group(1).split())[:300] if cp else '-')
        print('  License:', lic.group(1) if lic else '-')
        if com: print('  Comment:', ' '.join(com.group(1).split())[:300])
