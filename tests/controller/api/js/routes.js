// The openwhisk npm client's routes API (as `wsk api create/list/delete`): a web action, two
// APIs mapped to it, listed, read by base path, and one operation deleted. One JSON line.
const openwhisk = require('openwhisk')

async function main () {
  const ow = openwhisk({ apihost: process.env.APIHOST, api_key: process.env.AUTH })
  await ow.actions.create({ name: 'js-greeter', kind: 'python:3',
    action: "def main(args):\n    return {'hello': args.get('name', 'world'), " +
            "'path': args.get('__ow_path'), 'method': args.get('__ow_method')}\n",
    annotations: { 'web-export': true } })
  const hello = await ow.routes.create({ name: 'Hello API', basepath: '/hello',
    relpath: '/world', operation: 'GET', action: 'js-greeter' })
  const club = await ow.routes.create({ basepath: '/club', relpath: '/books/{isbn}',
    operation: 'PUT', action: 'js-greeter', responsetype: 'http' })
  await ow.routes.create({ basepath: '/club', relpath: '/books', operation: 'GET',
    action: 'js-greeter' })
  const listed = await ow.routes.list()
  const byName = await ow.routes.get({ name: 'Hello API' })
  const deleted = await ow.routes.delete({ basepath: '/club', relpath: '/books/{isbn}',
    operation: 'PUT' })
  const after = await ow.routes.get({ basepath: '/club' })
  console.log(JSON.stringify({ hello, club, listed, byName, deleted, after }))
}

main().catch(err => { console.error(err); process.exit(1) })
