#!/usr/bin/python3
"""A real XMPP client asking the report bot for a report through its ad-hoc commands (XEP-0050, slixmpp's xep_0050).

usage: slixmpp_report_command.py JID PASSWORD HOST PORT BOT BAD_PROJECT PROJECT
Lists the bot's commands, runs "help", submits BAD_PROJECT and then PROJECT to "report", and waits for the bot's chat
messages until one carries a link (jabber:x:oob) or says the file was delivered. Prints one JSON object. Certificate
checks are off: the test servers' certificate is self-signed.
"""
import asyncio
import json
import ssl
import sys

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout


def notes(iq):
    return [text for _, text in iq['command']['notes']]


class Asker(slixmpp.ClientXMPP):
    def __init__(self, jid, password, bot, bad, project):
        super().__init__(jid, password)
        for plugin in ('xep_0030', 'xep_0004', 'xep_0050', 'xep_0066'):
            self.register_plugin(plugin)
        self.bot, self.bad, self.project = bot, bad, project
        self.result = {'chat': []}
        self.done = asyncio.Event()
        self.add_event_handler('session_start', self.start)
        self.add_event_handler('message', self.on_message)

    def on_message(self, message):
        if message['type'] not in ('chat', 'normal') or not message['body']:
            return
        self.result['chat'].append(message['body'])
        url = message['oob']['url']
        if url:
            self.result['url'] = url
        if url or message['body'] == 'Delivered.':
            self.done.set()

    async def submit(self, project):
        adhoc = self['xep_0050']
        first = await adhoc.send_command(self.bot, 'report', timeout=10)
        form = self['xep_0004'].make_form(ftype='submit')
        form.add_field(var='project', value=project)
        final = await adhoc.send_command(self.bot, 'report', action='complete', payload=form,
                                         sessionid=first['command']['sessionid'], timeout=10)
        # The form as received: a dict of fields by name, or a list when the plugin did not map it.
        fields = first['command']['form']['fields']
        names = list(fields.keys()) if hasattr(fields, 'keys') else [field['var'] for field in fields]
        return {'form': names, 'status': final['command']['status'],
                'notes': notes(final)}

    async def start(self, _):
        try:
            self.send_presence()
            adhoc = self['xep_0050']
            listed = await adhoc.get_commands(self.bot, timeout=10)
            self.result['commands'] = [node for _, node, _ in listed['disco_items']['items']]
            self.result['help'] = notes(await adhoc.send_command(self.bot, 'help', timeout=10))
            self.result['bad'] = await self.submit(self.bad)
            self.result['good'] = await self.submit(self.project)
            await asyncio.wait_for(self.done.wait(), 60)
        except IqError as error:
            self.result['error'] = error.iq['error']['condition']
        except (IqTimeout, asyncio.TimeoutError):
            self.result['error'] = 'timeout'
        except Exception as error:  # anything else is a failure the test should name
            self.result['error'] = repr(error)
        finally:
            self.disconnect()


def main():
    jid, password, host, port, bot, bad, project = sys.argv[1:8]
    asker = Asker(jid, password, bot, bad, project)
    asker.ssl_context.check_hostname = False
    asker.ssl_context.verify_mode = ssl.CERT_NONE
    asker.connect((host, int(port)))
    loop = asyncio.get_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(asker.disconnected, 90))
    except asyncio.TimeoutError:
        asker.result['error'] = 'no disconnect'
    print(json.dumps(asker.result))
    return 0 if 'error' not in asker.result else 1


if __name__ == '__main__':
    sys.exit(main())
