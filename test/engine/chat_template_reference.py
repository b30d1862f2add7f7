# Reference for test/engine/chat-template.test.ts: transformers apply_chat_template on the given tokenizer folders.
import json, sys
from transformers import AutoTokenizer
req = json.load(sys.stdin)
out = []
for d in req["dirs"]:
    tok = AutoTokenizer.from_pretrained(d)
    for conv in req["conversations"]:
        text = tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=True)
        ids = tok.apply_chat_template(conv, tokenize=True, add_generation_prompt=True)
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        out.append({"text": text, "ids": list(ids)})
print(json.dumps(out))
