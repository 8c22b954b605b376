"""Deterministic WordPress client data: uploads on disk and bulk rows as SQL on stdout.

Usage: gen_wordpress.py PARAMS.json UPLOADS_DIR > rows.sql
Same seed => byte-identical files and SQL (random.Random with a fixed seed, no clock, no host state).
Runs inside the lab host (Python 3.9+ stdlib only).
"""
import json
import os
import random
import sys

WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua", "acme", "rocket", "anvil", "coyote", "desert", "roadrunner", "catalogue", "delivery", "widget", "gadget", "blueprint", "launch", "schedule", "customer", "service", "quality", "review", "summer", "winter", "spring", "autumn", "festival", "market", "report", "update", "news"]
ODD_NAMES = (
    "Team photo {n} (final).jpg",
    "café menu {n}.pdf",
    "Ünïcödé résumé {n}.pdf",
    "日本語ファイル {n}.png",
    "naïve façade – {n}.jpg",
    "Quarterly report Q{q} {n}.zip",
    "Señor José's notes {n}.txt",
    "Привет мир {n}.png",
)
PLAIN = ("IMG_{n:05d}.jpg", "banner-{n}.png", "brochure_{n}.pdf", "clip-{n}.mp4", "export-{n}.csv", "logo-{n}.png")
MAGIC = {
    ".jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
    ".png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    ".pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
    ".zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
    ".mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
}
MIME = {".jpg": "image/jpeg", ".png": "image/png", ".pdf": "application/pdf", ".zip": "application/zip",
        ".mp4": "video/mp4", ".txt": "text/plain", ".csv": "text/csv"}


def q(value):
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    s = str(value).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return "'" + s + "'"


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def date(rng):
    y = rng.randint(2015, 2026)
    mo, d = rng.randint(1, 10 if y == 2026 else 12), rng.randint(1, 28)  # nothing after the lab's "today"
    h, mi, s = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    return f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}"


class Inserter:
    def __init__(self, table, cols, out, batch=500):
        self.table, self.cols, self.out, self.batch, self.rows = table, cols, out, batch, []

    def add(self, *values):
        self.rows.append("(" + ",".join(q(v) for v in values) + ")")
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self):
        if self.rows:
            self.out.write("INSERT INTO {} ({}) VALUES\n{};\n".format(self.table, ",".join(self.cols), ",\n".join(self.rows)))
            self.rows = []


def upload_sizes(rng, count, total):
    # mixed sizes: mostly small images, some medium documents, a few large media files
    weights = []
    for _ in range(count):
        r = rng.random()
        weights.append(rng.uniform(2, 40) if r < 0.80 else rng.uniform(80, 600) if r < 0.97 else rng.uniform(1500, 6000))
    scale = total / sum(weights)
    return [max(256, int(w * scale)) for w in weights]


def main():
    with open(sys.argv[1], encoding="utf-8") as fh:
        params = json.load(fh)
    uploads = sys.argv[2]
    seed = params["seed"]
    rng = random.Random(seed["seed"])
    out = sys.stdout
    out.write("SET autocommit=0; SET unique_checks=0; SET foreign_key_checks=0;\n")
    site = params["sites"][0]
    home = "http://" + site["domain"]

    users = Inserter("wp_users", ["ID", "user_login", "user_pass", "user_nicename", "user_email", "user_registered",
                                  "display_name"], out)
    umeta = Inserter("wp_usermeta", ["user_id", "meta_key", "meta_value"], out)
    first_user = 101
    for i in range(seed["users"]):
        uid = first_user + i
        login = f"user{i:05d}"
        users.add(uid, login, "$P$B" + f"{rng.getrandbits(120):030x}", login, login + "@acme.example", date(rng),
                  f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}")
        for k in range(seed["usermeta_per_user"]):
            key = ("nickname", "first_name", "last_name", "description", "wp_capabilities", "wp_user_level")[k % 6]
            val = 'a:1:{s:10:"subscriber";b:1;}' if key == "wp_capabilities" else ("0" if key == "wp_user_level" else login)
            umeta.add(uid, key, val)
    users.flush()
    umeta.flush()

    posts = Inserter("wp_posts", ["ID", "post_author", "post_date", "post_date_gmt", "post_content", "post_title",
                                  "post_excerpt", "post_status", "comment_status", "ping_status", "post_name",
                                  "to_ping", "pinged", "post_modified", "post_modified_gmt", "post_content_filtered",
                                  "post_parent", "guid", "post_type", "post_mime_type", "comment_count"], out)
    pmeta = Inserter("wp_postmeta", ["post_id", "meta_key", "meta_value"], out)
    comments = Inserter("wp_comments", ["comment_ID", "comment_post_ID", "comment_author", "comment_author_email",
                                        "comment_author_IP", "comment_date", "comment_date_gmt", "comment_content",
                                        "comment_approved", "comment_agent", "comment_type", "user_id"], out)
    first_post = 1001
    npost = seed["posts"]
    for i in range(npost):
        pid = first_post + i
        d = date(rng)
        title = sentence(rng, rng.randint(3, 8)).rstrip(".")
        body = "\n\n".join(sentence(rng, rng.randint(8, 30)) for _ in range(rng.randint(2, 8)))
        slug = f"post-{pid}"
        posts.add(pid, first_user + rng.randrange(seed["users"]), d, d, body, title, "", "publish", "open", "open",
                  slug, "", "", d, d, "", 0, f"{home}/?p={pid}", "post", "", 0)
        for k in range(seed["postmeta_per_post"]):
            pmeta.add(pid, ("_edit_last", "_thumbnail_id", "views", "_wp_page_template")[k % 4], str(rng.randint(1, 9999)))
    for i in range(seed["comments"]):
        d = date(rng)
        comments.add(101 + i, first_post + rng.randrange(npost), f"Commenter {rng.randint(1, 5000)}",
                     f"c{rng.randint(1, 99999)}@example.org", f"192.0.2.{rng.randint(1, 254)}", d, d,
                     sentence(rng, rng.randint(5, 25)), "1", "Mozilla/5.0", "comment", 0)
    comments.flush()

    # uploads: files on disk + one attachment post (and its metadata) per file
    sizes = upload_sizes(rng, seed["uploads"], seed["uploads_mb"] * 1024 * 1024)
    seen = set()
    attach_id = first_post + npost + 1000
    for n, size in enumerate(sizes):
        year = rng.randint(2016, 2026)
        month = rng.randint(1, 10 if year == 2026 else 12)
        tmpl = rng.choice(ODD_NAMES) if rng.random() < 0.15 else rng.choice(PLAIN)
        name = tmpl.format(n=n, q=rng.randint(1, 4))
        rel = f"{year:04d}/{month:02d}/{name}"
        if rel in seen:
            continue
        seen.add(rel)
        ext = os.path.splitext(name)[1]
        path = os.path.join(uploads, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if ext in (".txt", ".csv"):
            text = "\n".join(sentence(rng, 12) for _ in range(max(1, size // 80)))
            data = text.encode("utf-8")[:size]
        else:
            head = MAGIC[ext]
            data = head + rng.randbytes(size - len(head))
        with open(path, "wb") as fh:
            fh.write(data)
        d = f"{year:04d}-{month:02d}-15 12:00:00"
        parent = first_post + rng.randrange(npost)
        posts.add(attach_id, 1, d, d, "", os.path.splitext(name)[0], "", "inherit", "open", "closed",
                  f"attachment-{attach_id}", "", "", d, d, "", parent, f"{home}/wp-content/uploads/{rel}",
                  "attachment", MIME[ext], 0)
        pmeta.add(attach_id, "_wp_attached_file", rel)
        pmeta.add(attach_id, "_wp_attachment_metadata", 'a:1:{s:8:"filesize";i:' + str(len(data)) + ';}')
        attach_id += 1
    posts.flush()
    pmeta.flush()
    out.write("UPDATE wp_posts p SET comment_count = (SELECT COUNT(*) FROM wp_comments c "
              "WHERE c.comment_post_ID = p.ID) WHERE p.post_type = 'post';\nCOMMIT;\n")


if __name__ == "__main__":
    main()
