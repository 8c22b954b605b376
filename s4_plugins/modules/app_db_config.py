#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Smartt
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: app_db_config
short_description: Point a web application's config file at another database host, name, user or password
version_added: "0.1.0"
description:
  - Rewrites, in place, only the database settings given (and the site URL where the application keeps it in
    its config) of one application config file, as the hosting panels' migrators do after moving a site
    (Plesk Migrator, cPanel Transfer Tool). Every other byte of the file is kept.
  - "Formats: WordPress C(wp-config.php) / Debian's C(/etc/wordpress/config-<host>.php)
    (C(define('DB_HOST', ...)), C(DB_NAME), C(DB_USER), C(DB_PASSWORD), and C(WP_HOME)/C(WP_SITEURL) with
    O(site_url)); Laravel C(.env) (C(DB_HOST), C(DB_DATABASE), C(DB_USERNAME), C(DB_PASSWORD), C(APP_URL),
    and a non-empty C(DB_URL)/C(DATABASE_URL), which overrides them);
    Symfony C(.env) (C(DATABASE_URL)); Drupal C(settings.php) (C($databases['default']['default']));
    Joomla C(configuration.php) (C(public $host), C($db), C($user), C($password), C($live_site)); Magento 2
    C(app/etc/env.php) (C('db' => 'connection' => 'default')); roundcube C(config.inc.php)
    (C($config['db_dsnw']), C($rcmail_config['db_dsnw']) before 1.0) or Debian's C(/etc/roundcube/debian-db.php) (C($dbserver), C($dbname),
    C($dbuser), C($dbpass))."
  - "The file is tenant data and is parsed, not grepped - comments and strings are understood, so a
    commented-out setting is never rewritten. A setting is rewritten only when its value is one plain string
    literal; a computed one (C(getenv()), a concatenation, a variable, an interpolated string) makes the module
    fail with C(not adjusted: <key> is computed) and change nothing."
  - Values are written with the escaping of the target syntax (PHP single-quoted string, dotenv quoting,
    percent-encoded URL/DSN parts), so no value can leave its string. In a URL/DSN the host is replaced and the
    port and query are kept.
  - The file is opened without following symlinks (every directory of O(path) included), must be a regular
    file, and is replaced atomically (temporary file in the same directory, then rename) with its owner, group
    and mode kept.
  - The result lists the adjusted keys, never a value.
author: Smartt S4 team
options:
  path:
    description: Absolute path of the config file. A symlink is refused, also for any directory on the way.
    type: str
    required: true
  kind:
    description:
      - The application's config format. V(auto) recognises it from the file name and content.
    type: str
    default: auto
    choices: [auto, wordpress, laravel_env, symfony_env, drupal, joomla, magento2, roundcube]
  db_host:
    description: Database host to write; omitted leaves the setting alone.
    type: str
  db_name:
    description: Database name to write; omitted leaves the setting alone.
    type: str
  db_user:
    description: Database user to write; omitted leaves the setting alone.
    type: str
  db_password:
    description: Database password to write; omitted leaves the setting alone. Never returned nor logged.
    type: str
  site_url:
    description:
      - Site URL to write (WordPress C(WP_HOME) and C(WP_SITEURL), added after C(DB_HOST) when not defined;
        Laravel C(APP_URL); Joomla C($live_site)). Refused for the formats whose URL lives in the database.
    type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff lists the adjusted keys with C(<redacted>) for passwords and for URLs/DSNs (which hold one).
notes:
  - Runs on the managed host; Python 3.6+ standard library only.
"""

EXAMPLES = r"""
- name: Point the WordPress site at the POC's database account
  smartt.s4.app_db_config:
    path: /etc/wordpress/config-blog.acme.example.php
    kind: wordpress
    db_host: localhost
    db_password: "{{ generated_password }}"
  no_log: true

- name: Move a Laravel app to the new database server
  smartt.s4.app_db_config:
    path: /srv/www/shop/.env
    kind: laravel_env
    db_host: db-02.internal
    db_name: shop
    db_user: shop
    db_password: "{{ shop_db_password }}"
    site_url: https://shop.poc.example
"""

RETURN = r"""
kind:
  description: The config format adjusted (the one recognised with O(kind=auto)).
  returned: success
  type: str
  sample: wordpress
adjusted:
  description: The keys written (or found already right), in file order of the settings; never a value.
  returned: success
  type: list
  elements: dict
  contains:
    key: {description: "The setting as the file names it (C(DB_HOST), C($config['db_dsnw']) ...).", type: str}
    settings: {description: Which of the module's options it carries (a URL/DSN carries several)., type: list}
    before_kind:
      description: V(literal) (a plain string literal was there) or V(absent) (the key was added).
      type: str
    changed: {description: Whether its value changed., type: bool}
  sample: [{key: DB_PASSWORD, settings: [db_password], before_kind: literal, changed: true}]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.smartt.s4.plugins.module_utils.s4_appcfg import (
    KINDS,
    AppConfigError,
    run,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="str", required=True),
            kind=dict(type="str", default="auto", choices=["auto"] + list(KINDS)),
            db_host=dict(type="str"),
            db_name=dict(type="str"),
            db_user=dict(type="str"),
            db_password=dict(type="str", no_log=True),
            site_url=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    wanted = dict((k, p[k]) for k in ("db_host", "db_name", "db_user", "db_password", "site_url"))
    try:
        result = run(p["path"], p["kind"], wanted, check_mode=module.check_mode, want_diff=module._diff)
    except AppConfigError as exc:
        module.fail_json(msg=str(exc), path=p["path"], changed=False)
    except (OSError, UnicodeError) as exc:
        module.fail_json(msg="not adjusted: %s" % (getattr(exc, "strerror", None) or type(exc).__name__),
                         path=p["path"], changed=False)
    module.exit_json(path=p["path"], **result)


if __name__ == "__main__":
    main()
