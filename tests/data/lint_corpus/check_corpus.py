"""Parse holdout.yaml and tune.yaml, count risky/safe cases per family and file, reject duplicate texts across both files."""
import sys, collections
from ruamel.yaml import YAML
FAMS={"promise.ship_date","promise.outcome","promise.compensation","price.unauthorized","offplatform","review.incentive","adlaw.absolute","service.rude"}
import os; base=os.path.dirname(os.path.abspath(__file__))+"/"
req={"holdout.yaml":(85,65,10),"tune.yaml":(340,260,35)}
seen={}; ok=True
trad=set("這後發貨們對時會說過還給來個為與國嗎請實網價證經與無開學週雙鐵運險關稅繳帳戶匯賠補償紅買雙歡驗評論禮圖單頁聯繫確認業領獨麼樣題應當該幫")
for fn,(mr,ms,mf) in req.items():
    d=YAML(typ="safe").load(open(base+fn,encoding="utf-8"))
    c=collections.Counter(); tr=0
    for i,x in enumerate(d["cases"]):
        assert set(x)=={"text","risky","family"}, (fn,i,x)
        assert x["family"] in FAMS, (fn,x)
        assert isinstance(x["risky"],bool) and isinstance(x["text"],str) and x["text"].strip()
        c[(x["family"],x["risky"])]+=1
        if x["risky"] and any(ch in trad for ch in x["text"]): tr+=1
        t=x["text"].strip()
        if t in seen: print("DUP", fn, seen[t], t); ok=False
        seen[t]=fn
    R=sum(v for (f,r),v in c.items() if r); S=sum(v for (f,r),v in c.items() if not r)
    print(f"{fn}: risky={R} safe={S} traditional-risky={tr} ({tr/R:.0%})")
    for f in sorted(FAMS):
        print(f"   {f:22s} risky={c[(f,True)]:3d} safe={c[(f,False)]:3d}")
        if c[(f,True)]<mf or c[(f,False)]==0: ok=False; print("   ^ below minimum")
    if R<mr or S<ms: ok=False; print("  totals below minimum")
print("OK" if ok else "FAIL"); sys.exit(0 if ok else 1)
