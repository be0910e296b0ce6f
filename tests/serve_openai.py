"""The `openai` Python package (a client nobody here wrote) against `milrun serve`.

usage: serve_openai.py PORT API_KEY CHAT_PROMPT COMPLETION_PROMPT MAX_TOKENS
Prints one JSON object with what the client got; test_tool_serve_openai.c checks it against
`milrun generate`. Exits 1 with a message when the client itself fails.
"""
import json
import sys

import openai


def main():
    port, key, chat_prompt, raw_prompt, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    base = f"http://127.0.0.1:{port}/v1"
    client = openai.OpenAI(base_url=base, api_key=key, max_retries=0, timeout=600)
    out = {}
    messages = [{"role": "user", "content": chat_prompt}]
    r = client.chat.completions.create(model="demo", messages=messages, max_tokens=n, temperature=0)
    out["chat"] = r.choices[0].message.content
    out["chat_finish"] = r.choices[0].finish_reason
    out["chat_usage"] = [r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens]
    parts, finish = [], None
    stream = client.chat.completions.create(model="demo", messages=messages, max_tokens=n, temperature=0, stream=True)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    out["chat_stream"] = "".join(parts)
    out["chat_stream_finish"] = finish
    c = client.completions.create(model="demo", prompt=raw_prompt, max_tokens=n, temperature=0)
    out["completion"] = c.choices[0].text
    out["models"] = [m.id for m in client.models.list()]
    try:
        openai.OpenAI(base_url=base, api_key="wrong", max_retries=0).models.list()
        out["wrong_key"] = "accepted"
    except openai.AuthenticationError as e:
        out["wrong_key"] = e.code
    try:
        client.chat.completions.create(model="demo", messages=[], max_tokens=n)
        out["empty_messages"] = "accepted"
    except openai.BadRequestError as e:
        out["empty_messages"] = e.code
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # the test shows what the client said
        print(f"serve_openai.py: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
