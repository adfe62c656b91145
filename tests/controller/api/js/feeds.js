// The openwhisk npm client drives a feed as `wsk trigger create --feed` does: a trigger with
// the feed annotation, then feeds.create (CREATE), feeds.get (READ), PAUSE and UNPAUSE through
// actions.invoke, and feeds.delete (DELETE). The trigger's own activations say when it fired.
const openwhisk = require('openwhisk')
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function fired (ow, after) {
  const records = await ow.activations.list({ name: 'js-tick', limit: 200 })
  return records.map(r => r.start).filter(start => start > after)
}

async function waitFired (ow, after) {
  for (let i = 0; i < 300; i++) {
    const times = await fired(ow, after)
    if (times.length) return times
    await sleep(100)
  }
  return []
}

async function main () {
  const ow = openwhisk({ apihost: process.env.APIHOST, api_key: process.env.AUTH })
  const feed = '/whisk.system/alarms/interval'
  const lifecycle = event => ow.actions.invoke({ name: feed, blocking: true, result: true,
    params: { lifecycleEvent: event, triggerName: '/guest/js-tick', authKey: process.env.AUTH } })
  await ow.actions.create({ name: 'js-ticked', kind: 'python:3',
    action: 'def main(args):\n    return args\n' })
  await ow.triggers.create({ name: 'js-tick', trigger: {
    annotations: [{ key: 'feed', value: feed }] } })
  await ow.rules.create({ name: 'js-tick-rule', action: 'js-ticked', trigger: 'js-tick' })
  const start = Date.now()
  const created = await ow.feeds.create({ name: feed, trigger: 'js-tick',
    params: { seconds: 1, trigger_payload: { from: 'alarm' } } })
  const firstFired = await waitFired(ow, start)
  const read = await ow.feeds.get({ name: feed, trigger: 'js-tick' })
  const paused = await lifecycle('PAUSE')
  const pausedAt = Date.now()
  await sleep(3000)
  const unpausedAt = Date.now()
  const whilePaused = await fired(ow, pausedAt)
  const unpaused = await lifecycle('UNPAUSE')
  const afterUnpause = await waitFired(ow, unpausedAt)
  const deleted = await ow.feeds.delete({ name: feed, trigger: 'js-tick' })
  const deletedAt = Date.now()
  await sleep(3000)
  const afterDelete = await fired(ow, deletedAt)
  let record = null
  for (let i = 0; i < 300 && !record; i++) {
    record = (await ow.activations.list({ name: 'js-ticked', docs: true, limit: 1 }))[0]
    await sleep(100)
  }
  await ow.rules.delete({ name: 'js-tick-rule' })
  await ow.triggers.delete({ name: 'js-tick' })
  console.log(JSON.stringify({
    created, firstFired, read, paused, whilePaused, unpaused, afterUnpause, deleted, afterDelete,
    record
  }))
}

main().catch(err => { console.error(err); process.exit(1) })
