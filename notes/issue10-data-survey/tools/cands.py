import os, re, sys, zipfile
KW = re.compile(r'(rain|storm|thunder|blizzard|wind|gust|breeze|traffic|street|city|road|highway|urban|car[_.0-9-]|engine|motor|crowd|market|people|chatter|babble|cheer|applau|restaurant|tavern|party|stadium|audience|hum|hvac|fan[_.0-9-]|vent|aircon|fridge|refrig|compress|machin|generator|pump|amb|atmo|water|river|stream|wave|ocean|sea|surf|beach|bird|forest|insect|cricket|frog|swamp|night|day|jungle|nature|country|village|desert|arctic|snow|fire|train|tram|bus|truck|traffic|plane|airport|station|disco|tv|radio|static|noise|drone|steam|lights|owl|raven|cave|drip|fountain|factory|industr|mill|office|room|hall|space|horror|pa[_.]|bell)', re.I)
EXT = re.compile(r'\.(ogg|wav|flac|mp3|opus|oga|au|aiff?)$', re.I)
pkgs = sys.argv[1:]
for p in pkgs:
    root = os.path.join('x', p)
    for dp, dn, fn in os.walk(root):
        for f in fn:
            full = os.path.join(dp, f)
            rel = full
            if EXT.search(f) and (KW.search(f) or re.search(r'/(ambient|ambience|environment|weather|env_sounds)/', full)):
                print(p + '\t' + full)
            elif re.search(r'\.(pk3|zip|wz)$', f):
                try:
                    z = zipfile.ZipFile(full)
                except Exception:
                    continue
                for n in z.namelist():
                    b = n.rsplit('/', 1)[-1]
                    if EXT.search(b) and (KW.search(b) or re.search(r'(ambient|ambience|environment|weather)/', n)):
                        print(p + '\t' + full + '::' + n)
