import sys, os, importlib.util, re
sys.path.insert(0, '/work/survey10/tools')
from entries import E
spec = importlib.util.spec_from_file_location('an', '/work/survey10/tools/analyze_lib.py')
an = importlib.util.module_from_spec(spec); spec.loader.exec_module(an)
ver = {l.split('\t')[0]: l.split('\t')[1] for l in open('/work/survey10/deb_index.tsv')}
LIC = {
 '0ad-data': 'CC-BY-SA-3.0 (debian/copyright Files: *; audio/LICENSE.txt in public.zip: "Copyright (C) 2009 Wildfire Games ... Creative Commons Attribution-Share Alike 3.0")',
 'megaglest-data': 'CC-BY-SA-3.0 (debian/copyright Files: *, "All files are released under ... CC BY-SA 3.0 Unported")',
 'supertuxkart-data': 'see per-file stanza in debian/copyright',
 'flare-game': 'CC-BY-SA-3.0+ (debian/copyright Files: *, "2012-2021 Clint Bellanger and others")',
 'plee-the-bear-data': 'CC-BY-SA-3.0 (debian/copyright: "Most media files ... Creative Commons paternity share alike licence in version 3.0")',
 'ardentryst': 'CC-BY-SA-3.0 (debian/copyright Files: Sounds/*)',
 'scorched3d-data': 'GPL-2+ (debian/copyright Files: *, 2001-2014 Gavin Camp)',
 'btanks-data': 'Battle-Tanks-License = GPL-2 with a commercial-content exception (debian/copyright Files: *)',
 'scratch': 'CC-BY-SA-3.0 (debian/copyright Files: Media/*, MIT 2011)',
 'openttd-opensfx': 'per sound, given in the opensfx.cat entry name (licence texts in license.txt)',
 'etw-data': 'GPL-2+ (debian/copyright Files: *, 1997-2011 Gabriele Greco)',
 'tuxfootball': 'GPL-2+ (debian/copyright Files: *)',
 'lmms-common': 'GPL-2+ (debian/copyright Files: *; no separate stanza for samples)',
 'dustracing2d-data': 'GPL-3+ (debian/copyright Files: *)',
 'unknown-horizons': 'GPL-2+ (debian/copyright Files: *; only lumberjack*.ogg is CC-BY-SA-3.0)',
 'lugaru-data': 'GPL-2+ (debian/copyright Files: *, Wolfire Games and Lugaru contributors)',
 'ufoai-sound': 'CC-BY-SA-3.0 (debian/copyright stanza listing base/sound/ambience/alien-*, arcticwind, fire*, sand-city, thunder*, tv_newswav, water01-03, waterfontain, wind_turbine; other ambience files are GPL-2+ or CC-BY-3.0 per stanza)',
 'openarena-data': 'GPL-2+ (debian/copyright Files: *, OpenArena Team / id Software)',
 'trigger-rally-data': 'GPL-2+ (debian/copyright Files: data/data.zip)',
 'endless-sky-data': 'public-domain (debian/copyright Files: sounds/*)',
 'minetest-data': 'CC-BY-SA-3.0 (debian/copyright *.ogg)',
 'displaycal': 'GPL-3 (debian/copyright Files: *)',
 'crrcsim-data': 'GPL-2 (debian/copyright Files: *)',
 'warzone2100-data': 'GPL-2+ (debian/copyright Files: *)',
 'trackballs-data': 'GPL-2+ (debian/copyright Files: *)',
 'simutrans-pak64': 'Artistic-1.0 (debian/copyright Files: *)',
 'micropolis-data': 'GPL-3+ (debian/copyright Files: *)',
 'gnome-shell-pomodoro-data': 'GPL-3+ (debian/copyright Files: *)',
 'wesnoth-1.16-data': 'GPL-2+ (debian/copyright, non-DEP5: "GNU General Public License version 2 or at your option any later version")',
 'hyperrogue-music': 'see stanza',
 'cube2-data': 'CC-BY-SA-3.0 for packages/sounds/q009,sfx...; 0ad/* from Wildfire Games',
}
def inpkg(pkg, src):
    if '/public_zip_members/' in src:
        return 'usr/share/games/0ad/mods/public/public.zip → ' + src.split('/public_zip_members/')[1]
    m = re.search(r'_extracted_cat/sfx(\d+)\.wav', src)
    if m: return 'usr/share/games/openttd/baseset/opensfx/opensfx.cat → entry #%d' % int(m.group(1))
    s = src.replace('x/%s/' % pkg, '', 1)
    return s.replace('::', ' → ')
rows = {}
for cls, pkg, src, grp, verdict, ev, lic in E:
    try:
        x, sr, h = an.load(src)
        d = '%.1f s' % (x.shape[0] / sr); rc = '%d/%d' % (sr, x.shape[1])
    except Exception as ex:
        d, rc, h = 'ERR', str(ex)[:40], '-'
    rows.setdefault(cls, []).append('| `%s` %s | `%s` | %s | %s | %s | %s | %s | %s | `%s` |' % (
        pkg, ver.get(pkg, '?'), inpkg(pkg, src), d, rc, grp, verdict, ev.replace('|', '/'), (lic or LIC.get(pkg, '?')).replace('|', '/'), h))
hdr = '| package version | file in package (→ member of archive) | duration | rate/ch | recording | verdict | evidence / grouping | licence | sha256 of file |\n|---|---|---|---|---|---|---|---|---|'
out = []
for cls in ['rain', 'traffic', 'crowd', 'wind', 'hvac', 'water', 'nature', 'music', 'other']:
    out.append('\n### %s\n\n%s\n%s\n' % (cls, hdr, '\n'.join(rows.get(cls, []))))
open('/work/survey10/tables.md', 'w').write('\n'.join(out))
print('ok', sum(len(v) for v in rows.values()))
